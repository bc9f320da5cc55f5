"""Member grades on PostgreSQL: two payments of one member at the same moment both count."""

from __future__ import annotations

import time
from decimal import Decimal

import sqlalchemy as sa

from app.core.extensions import db
from app.grades.bulk_regrade import recompute_all, replace_table
from app.grades.table import ensure_default_tiers
from app.models import GradeChange, Member, Order, OrderStatus
from app.ordering.orders import change_status
from tests.factories import make_member, make_placed_order
from tests.helpers import run_at_once

# The first payment keeps its transaction open this long, so the second must really wait for
# the member's row lock instead of simply running after it.
HOLD_SECONDS = 0.3


def pay_at_once(app, order_ids: list[int]) -> list[BaseException]:
    def cashier(meet, order_id: int) -> None:
        with app.app_context():
            order = db.session.get(Order, order_id)
            meet()
            try:
                change_status(order, OrderStatus.PAID)
                time.sleep(HOLD_SECONDS)
                db.session.commit()
            finally:
                db.session.remove()

    return run_at_once(cashier, [(i,) for i in order_ids])


def test_two_orders_of_one_member_paid_at_the_same_moment_both_count(pg_app):
    with pg_app.app_context():
        ensure_default_tiers()
        member = make_member()
        orders = [
            make_placed_order(member, subtotal=Decimal(t), shipping_fee=Decimal("0.00"),
                              total=Decimal(t))
            for t in ("300.00", "250.00")
        ]
        db.session.commit()
        member_id, order_ids = member.id, [o.id for o in orders]

    errors = pay_at_once(pg_app, order_ids)

    assert not errors, errors
    with pg_app.app_context():
        member = db.session.get(Member, member_id)
        assert member.qualifying_spend == Decimal("550.00")  # no lost update
        assert member.tier_code == "silver"
        changes = db.session.scalars(sa.select(GradeChange.to_code)
                                     .where(GradeChange.member_id == member_id)).all()
        assert changes == ["silver"]


def test_many_members_paid_at_once_are_each_graded_on_their_own_orders(pg_app):
    with pg_app.app_context():
        ensure_default_tiers()
        pairs = []
        for _ in range(3):
            member = make_member()
            pairs.append((member, [make_placed_order(member, subtotal=Decimal("260.00"),
                                                     shipping_fee=Decimal("0.00"),
                                                     total=Decimal("260.00"))
                                   for _ in range(2)]))
        db.session.commit()
        member_ids = [m.id for m, _ in pairs]
        order_ids = [o.id for _, orders in pairs for o in orders]

    errors = pay_at_once(pg_app, order_ids)

    assert not errors, errors
    with pg_app.app_context():
        rows = db.session.execute(sa.select(Member.qualifying_spend, Member.tier_code)
                                  .where(Member.id.in_(member_ids))).all()
        assert rows == [(Decimal("520.00"), "silver")] * 3


def test_replacing_the_table_regrades_everyone_in_one_pass_on_postgresql(pg_app):
    from app.grades.grading import TierRule

    with pg_app.app_context():
        ensure_default_tiers()
        spends = ("150.00", "700.00", "2500.00")
        members = [make_member() for _ in spends]
        for member, total in zip(members, spends, strict=True):
            order = make_placed_order(member, subtotal=Decimal(total),
                                      shipping_fee=Decimal("0.00"), total=Decimal(total))
            change_status(order, OrderStatus.PAID)
        db.session.commit()
        ids = [m.id for m in members]

        report = replace_table([
            TierRule("regular", "Regular", Decimal("0.00"), Decimal("0")),
            TierRule("bronze", "Bronze", Decimal("100.00"), Decimal("0.02")),
            TierRule("silver", "Silver", Decimal("1000.00"), Decimal("0.06")),
        ], None)
        db.session.commit()
        recompute_all()
        db.session.commit()

        grades = db.session.execute(sa.select(Member.tier_code, Member.qualifying_spend)
                                    .where(Member.id.in_(ids)).order_by(Member.id)).all()
        assert grades == [("bronze", Decimal("150.00")), ("bronze", Decimal("700.00")),
                          ("silver", Decimal("2500.00"))]
        assert (report.changed, report.promoted, report.demoted) == (3, 1, 2)
