"""Demand taken on the phone: a member's (the web's rules), or a caller's who is not a member
(the visitors' double opt-in: the address is confirmed by mail first)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.crm import erasure, phone_orders
from app.demand.rules import AlreadyInStock, DemandFieldError
from app.models import Demand, DemandStatus, Interaction, OutboxMail
from tests.factories import make_admin, make_book, make_member, make_staff
from tests.pages import logged_in_client


def test_a_members_demand_on_the_phone_follows_the_web_rules_and_is_noted(ctx):
    staff, member = make_staff(), make_member()
    book = make_book(title="Sold Out", stock_on_hand=0)
    demand = phone_orders.record_member_demand(member, staff, book.id, 2, "Hardback")
    again = phone_orders.record_member_demand(member, staff, book.id, 3)

    assert again.id == demand.id and demand.quantity == 3  # asking again updates it
    assert (demand.member_id, demand.status, demand.taken_by_id) == (
        member.id, DemandStatus.OPEN, staff.id)
    calls = db.session.scalars(sa.select(Interaction.body)).all()
    assert len(calls) == 2 and "Sold Out" in calls[0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "demand.phone_recorded")) == 2
    with pytest.raises(AlreadyInStock):
        phone_orders.record_member_demand(member, staff, make_book(stock_on_hand=2).id)


def test_a_callers_demand_waits_for_the_confirmation_mail(ctx):
    staff = make_staff()
    book = make_book(title="Sold Out", stock_on_hand=0)
    demand = phone_orders.record_caller_demand(staff, email="Caller@Example.test",
                                               name="Cal Caller", book_id=book.id,
                                               locale="zh_Hans")

    assert (demand.member_id, demand.email, demand.caller_name) == (
        None, "caller@example.test", "Cal Caller")
    assert demand.confirmed_at is None and demand.taken_by_id == staff.id
    [mail] = db.session.scalars(sa.select(OutboxMail)).all()
    assert (mail.kind, mail.to_email) == ("demand_confirm", "caller@example.test")
    assert "确认" in mail.body_text or "确认" in mail.subject  # the caller's language


def test_a_members_address_is_refused_for_a_caller_demand(ctx):
    staff = make_staff()
    make_member(email="known@example.test")
    book = make_book(stock_on_hand=0)
    with pytest.raises(DemandFieldError, match="belongs to a member") as refusal:
        phone_orders.record_caller_demand(staff, email="known@example.test", name="K",
                                          book_id=book.id)
    assert refusal.value.field == "email"


def test_erasure_forgets_the_callers_name(ctx):
    staff, admin = make_staff(), make_admin()
    member = make_member(email="later@example.test")
    demand = Demand(email="later@example.test", book_id=make_book(stock_on_hand=0).id,
                    caller_name="Lee Later", status=DemandStatus.CANCELLED, taken_by_id=staff.id)
    db.session.add(demand)
    db.session.flush()
    erasure.erase_member(member, admin)
    assert demand.caller_name is None


def test_staff_record_demands_through_the_pages(app, staff_id):
    with app.app_context():
        member = make_member(name="Mo Member")
        book = make_book(title="Gone Book", stock_on_hand=0)
        db.session.commit()
        member_id, book_id = member.id, book.id
    agent = logged_in_client(app, "clerk@example.test")

    page = agent.get(f"/admin/customers/{member_id}/phone-order?book_q=gone").get_data(
        as_text=True)
    assert 'data-testid="record-demand"' in page
    recorded = agent.post(f"/admin/customers/{member_id}/phone-demand",
                          data={"book_id": book_id, "quantity": 1})
    assert recorded.status_code == 302

    form = agent.get(f"/admin/phone-demands/new?book_id={book_id}")
    assert form.status_code == 200 and "Gone Book" in form.get_data(as_text=True)
    bad = agent.post("/admin/phone-demands/new", data={
        "book_id": book_id, "quantity": 1, "name": "Cal", "email": "not-an-address",
        "locale": "en"})
    assert bad.status_code == 400 and "Cal" in bad.get_data(as_text=True)
    good = agent.post("/admin/phone-demands/new", data={
        "book_id": book_id, "quantity": 1, "name": "Cal", "email": "cal@example.test",
        "locale": "en"})
    assert good.status_code == 302
    with app.app_context():
        rows = db.session.execute(sa.select(Demand.member_id, Demand.email)).all()
        assert sorted(rows, key=str) == sorted([(member_id, None), (None, "cal@example.test")],
                                               key=str)
