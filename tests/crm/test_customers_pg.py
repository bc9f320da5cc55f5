"""Customers on PostgreSQL (issue 4): the same search, sorts and rules as on SQLite, the
trigram and last-order indexes in place, and two admins cannot demote each other at once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.crm import customer_admin, customers, erasure
from app.crm.customers import CustomerFilters
from app.models import Member, OrderStatus, Role
from tests.factories import make_admin, make_member, make_placed_order
from tests.helpers import run_at_once

pytestmark = pytest.mark.pg


def found(query: str = "", **filters) -> list[str]:
    page = customers.list_customers(CustomerFilters(q=query, **filters), per_page=100)
    return [m.name for m in page.items]


@pytest.fixture
def crowd(pg_app):
    with pg_app.app_context():
        ada = make_member(name="Ada Lovelace", email="ada@example.test", phone="+44 7700 900123")
        wang = make_member(name="王小明", email="xiaoming.wang@example.test",
                           phone="+86 138 0013 8000")
        make_member(name="Émile Zola", email="emile@example.test")
        make_member(name="snake_case", email="snake@example.test")
        make_placed_order(ada, placed_at=datetime(2026, 1, 1, tzinfo=UTC),
                          status=OrderStatus.PAID)
        # a large order not paid: no lifetime spend (issue 18)
        make_placed_order(wang, placed_at=datetime(2025, 6, 1, tzinfo=UTC),
                          total=Decimal("900.00"))
        customers.refresh_all_order_stats()
        db.session.commit()
    return pg_app


def test_search_matches_sqlite_on_postgresql(crowd):
    with crowd.app_context():
        assert found("lovel") == ["Ada Lovelace"]
        assert found("LOVELACE ada") == ["Ada Lovelace"]
        assert found("小明") == ["王小明"]
        assert found("émile") == ["Émile Zola"]
        assert found("ada@") == ["Ada Lovelace"]
        assert found("0013 8000") == ["王小明"]
        assert found("07700 900123") == ["Ada Lovelace"]
        assert found("e_c") == ["snake_case"]
        assert found("%") == []


def test_customers_without_orders_come_last_when_sorted_by_last_order(crowd):
    with crowd.app_context():
        assert found(sort="last_order")[0] == "Ada Lovelace"
        assert found(sort="spend")[0] == "Ada Lovelace"


def test_the_customer_indexes_exist(crowd):
    with crowd.app_context():
        names = set(db.session.scalars(sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'member'")))
    assert {"ix_member_name_trgm", "ix_member_last_order_desc", "ix_member_phone_key",
            "ix_member_name", "ix_member_lifetime_spend"} <= names


def test_two_admins_demoting_each_other_at_once_leave_one_admin(pg_app):
    with pg_app.app_context():
        first, second = make_admin(), make_admin()
        db.session.execute(sa.update(Member).where(Member.role == Role.ADMIN,
                                                   Member.id.not_in([first.id, second.id]))
                           .values(role=Role.MEMBER))
        db.session.commit()
        ids = (first.id, second.id)
    outcomes: list[str] = []

    def demote(meet, actor_id: int, target_id: int) -> None:
        with pg_app.app_context():
            actor = db.session.get(Member, actor_id)
            target = db.session.get(Member, target_id)
            meet()
            try:
                customer_admin.change_role(target, Role.MEMBER, actor)
                db.session.commit()
                outcomes.append("done")
            except customer_admin.NotAllowed:
                db.session.rollback()
                outcomes.append("refused")

    errors = run_at_once(demote, [ids, ids[::-1]], wait_timeout=None, join_timeout=None)
    assert not errors, errors
    with pg_app.app_context():
        admins = db.session.scalar(sa.select(sa.func.count()).where(Member.role == Role.ADMIN))
    assert sorted(outcomes) == ["done", "refused"] and admins == 1


def test_lifetime_spend_follows_payment_and_cancellation_on_postgresql(pg_app):
    from app.ordering.checkout import ShippingAddress, place_order
    from app.ordering.orders import change_status
    from tests.factories import make_book

    address = ShippingAddress(name="Pat Payer", line1="2 Till Road", city="Shanghai",
                              postcode="200000", country="China")
    with pg_app.app_context():
        member = make_member()
        book = make_book(price=Decimal("31.25"))
        first = place_order(member, address=address, payment_method="bank_transfer",
                            lines=[(book.id, 1)], notify=False)
        second = place_order(member, address=address, payment_method="cod",
                             lines=[(book.id, 2)], notify=False)
        db.session.commit()
        assert (member.order_count, member.lifetime_spend) == (2, Decimal("0.00"))
        change_status(first, OrderStatus.PAID)
        change_status(second, OrderStatus.PAID)
        db.session.commit()
        assert member.lifetime_spend == first.total + second.total
        change_status(second, OrderStatus.CANCELLED)
        db.session.commit()
        assert (member.order_count, member.lifetime_spend) == (1, first.total)
        customers.refresh_all_order_stats()
        db.session.commit()
        assert (member.order_count, member.lifetime_spend) == (1, first.total)


def test_erasure_finds_searches_for_the_person_in_the_audit_log_json(pg_app):
    """The entries holding typed filters are found by reading their JSON as text."""
    from app.models import AuditEntry

    with pg_app.app_context():
        boss = make_admin()
        ada = make_member(name="Ada Secret", email="ada.secret@example.test")
        customer_admin.record_orders_export(boss, {"q": "ada.secret@ex", "status": "paid"}, 1)
        customer_admin.record_list_export(boss, {"q": "bea"}, 2)
        db.session.commit()

        erasure.erase_member(ada, boss)
        db.session.commit()

        assert [e.after["filters"] for e in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action.like("%.list_export"))
            .order_by(AuditEntry.id))] == [
            {"q": erasure.ERASED_TEXT, "status": "paid"}, {"q": "bea"}]
