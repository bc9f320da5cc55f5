"""A member's returns in their personal data: exported (with what they wrote) and wiped on
erasure, the returns and refunds themselves kept for the accounts."""

from __future__ import annotations

from decimal import Decimal as D

from app.core.extensions import db
from app.crm import erasure
from app.crm.member_export import member_data
from app.models import Refund, ReturnRequest
from app.returns import requests
from app.returns.refunds import refund_order
from tests.factories import make_admin, make_staff
from tests.returns.support import paid_order


def _returned(details: str):
    order = paid_order()
    made = requests.request_return(order, order.member, {order.lines[0].id: 1}, "damaged",
                                   details)
    requests.approve(made, make_staff())
    refund_order(order, lines=D("20.00"), actor=make_staff(), return_request=made)
    db.session.commit()
    return order.member, made


def test_the_export_holds_the_returns_with_their_text_and_the_refunds(ctx):
    member, made = _returned("My dog chewed it, sorry")
    data = member_data(member)
    (entry,) = data["returns"]
    assert (entry["number"], entry["text"], entry["reason"], entry["opened_by"]) == (
        made.number, "My dog chewed it, sorry", "damaged", "you")
    assert data["refunds"][0]["amount"] == "20.00"


def test_erasure_wipes_what_the_member_wrote_and_keeps_the_accounts(ctx):
    member, made = _returned("Call me on 0123 456 789")
    erasure.erase_member(member, make_admin())
    db.session.commit()
    kept = db.session.get(ReturnRequest, made.id)
    assert kept.details == "[erased]"
    assert db.session.query(Refund).count() == 1
