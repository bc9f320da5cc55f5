"""Refunds and returns on PostgreSQL: two members of staff refunding one order at the same
moment cannot refund more than was paid (the order's row lock; the conditional UPDATE behind
it), and the same copies asked back twice at once make one return."""

from __future__ import annotations

import time
from decimal import Decimal as D

import sqlalchemy as sa

from app.core.extensions import db
from app.models import Member, Order, Refund, ReturnRequest
from app.returns import requests
from app.returns.refunds import RefundRefused, refund_order
from tests.factories import make_staff
from tests.helpers import run_at_once
from tests.returns.support import paid_order

# The first refund keeps its transaction open this long, so the second must really wait for
# the order's row lock instead of simply running after it.
HOLD_SECONDS = 0.3


def refund_at_once(app, order_id: int, staff_ids: list[int], amount: D) -> list[BaseException]:
    def clerk(meet, staff_id: int) -> None:
        with app.app_context():
            staff = db.session.get(Member, staff_id)
            meet()
            try:
                refund_order(order_id, lines=amount, actor=staff)
                time.sleep(HOLD_SECONDS)
                db.session.commit()
            finally:
                db.session.remove()

    return run_at_once(clerk, [(i,) for i in staff_ids])


def test_two_staff_refunding_at_once_cannot_over_refund(pg_app):
    with pg_app.app_context():
        order = paid_order()  # 80.00 paid
        staff = [make_staff(), make_staff()]
        db.session.commit()
        order_id, staff_ids = order.id, [s.id for s in staff]

    errors = refund_at_once(pg_app, order_id, staff_ids, D("50.00"))

    assert len(errors) == 1 and isinstance(errors[0], RefundRefused), errors
    assert "30.00" in errors[0].message  # the second was told what was left
    with pg_app.app_context():
        order = db.session.get(Order, order_id)
        assert order.refunded == D("50.00") and order.revenue == D("30.00")
        assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 1
        assert order.member.lifetime_spend == D("30.00")


def test_two_partial_refunds_at_once_that_fit_both_count(pg_app):
    with pg_app.app_context():
        order = paid_order()
        staff = [make_staff(), make_staff()]
        db.session.commit()
        order_id, staff_ids = order.id, [s.id for s in staff]

    errors = refund_at_once(pg_app, order_id, staff_ids, D("40.00"))

    assert not errors, errors
    with pg_app.app_context():
        order = db.session.get(Order, order_id)
        assert order.refunded == D("80.00") and order.revenue == D("0.00")
        assert order.member.lifetime_spend == D("0.00")
        assert order.member.qualifying_spend == D("0.00")


def test_the_same_copies_asked_back_twice_at_once_make_one_return(pg_app):
    with pg_app.app_context():
        order = paid_order()
        db.session.commit()
        order_id = order.id

    def member(meet, _n: int) -> None:
        with pg_app.app_context():
            mine = db.session.get(Order, order_id)
            wanted = {line.id: line.quantity for line in mine.lines}
            meet()
            try:
                requests.request_return(mine, mine.member, wanted, "damaged")
                time.sleep(HOLD_SECONDS)
                db.session.commit()
            finally:
                db.session.remove()

    errors = run_at_once(member, [(1,), (2,)])

    assert len(errors) == 1 and isinstance(errors[0], requests.ReturnRefused), errors
    with pg_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReturnRequest.id))) == 1
