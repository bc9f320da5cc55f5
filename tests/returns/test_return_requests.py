"""Return requests: the window from delivery, what can be asked back, and the steps staff take
(approve, reject with a reason mailed, receive with a restock choice, refund); restocked copies
serve a waiting reader exactly as a stock receipt does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.core.errors import NotFound
from app.core.extensions import db
from app.core.signals import return_requested
from app.models import (
    AuditEntry,
    Book,
    Demand,
    DemandStatus,
    Order,
    OutboxMail,
    Refund,
    Restock,
    ReturnRequest,
    ReturnStatus,
    StockReceipt,
)
from app.returns import requests
from app.returns.refunds import RefundRefused, refund_order
from app.returns.requests import ReturnRefused
from tests.factories import make_book, make_demand, make_member, make_staff
from tests.returns.support import paid_order


def _all(order):
    return {line.id: line.quantity for line in order.lines}


def _mails(kind: str) -> list[OutboxMail]:
    return list(db.session.scalars(sa.select(OutboxMail).where(OutboxMail.kind == kind)))


# --------------------------------------------------------------------------- the window


def test_the_last_day_of_the_window_is_open(ctx):
    order = paid_order()
    day_30 = order.delivered_at + timedelta(days=30)
    made = requests.request_return(order, order.member, _all(order), "damaged", now=day_30)
    assert made.status is ReturnStatus.REQUESTED and made.quantity == 3


def test_day_31_is_refused_with_a_clear_message(ctx):
    order = paid_order()
    day_31 = order.delivered_at + timedelta(days=31)
    with pytest.raises(ReturnRefused) as refused:
        requests.request_return(order, order.member, _all(order), "damaged", now=day_31)
    assert f"The return window of order {order.number} closed on" in refused.value.message
    assert "30 days after delivery" in refused.value.message


class TestAShorterWindow:
    @pytest.fixture
    def app_config(self):
        return {"RETURN_WINDOW_DAYS": 14}

    def test_the_window_follows_the_config(self, ctx):
        order = paid_order()
        with pytest.raises(ReturnRefused, match="14 days"):
            requests.request_return(order, order.member, _all(order), "other",
                                    now=order.delivered_at + timedelta(days=14, seconds=1))


def test_an_order_not_delivered_yet_cannot_be_returned_by_the_member(ctx):
    order = paid_order(delivered=False)
    with pytest.raises(ReturnRefused, match="once the order is delivered"):
        requests.request_return(order, order.member, _all(order), "damaged")


def test_another_members_order_is_not_found(ctx):
    order = paid_order()
    with pytest.raises(NotFound):
        requests.request_return(order, make_member(), _all(order), "damaged")


# --------------------------------------------------------------------------- what can be asked


def test_copies_are_asked_back_once_unless_the_return_was_rejected(ctx):
    order = paid_order()
    twenty, thirty = order.lines
    first = requests.request_return(order, order.member, {twenty.id: 1}, "changed_mind")
    with pytest.raises(ReturnRefused, match="at most 1"):
        requests.request_return(order, order.member, {twenty.id: 2}, "changed_mind")
    requests.reject(first, make_staff(), "Opened and read")
    again = requests.request_return(order, order.member, {twenty.id: 2, thirty.id: 1}, "other")
    assert again.quantity == 3


@pytest.mark.parametrize("copies, reason, message", [
    ("none", "damaged", "Choose how many"),
    ("zero", "damaged", "Choose how many"),
    ("too_many", "damaged", "at most 2"),
    ("negative", "damaged", "whole number"),
    ("unknown_line", "damaged", "not in this order"),
    ("one", "nonsense", "reason from the list"),
])
def test_a_request_must_name_copies_of_the_order_and_a_listed_reason(ctx, copies, reason,
                                                                     message):
    order = paid_order()
    line = order.lines[0].id
    wanted = {"zero": {line: 0}, "too_many": {line: 3}, "negative": {line: -1},
              "unknown_line": {999999: 1}, "one": {line: 1}, "none": {}}[copies]
    with pytest.raises(ReturnRefused, match=message):
        requests.request_return(order, order.member, wanted, reason)


def test_a_request_mails_the_member_and_sends_return_requested(ctx):
    order = paid_order()
    heard = []

    def listener(sender, **kwargs):
        heard.append(sender)

    return_requested.connect(listener)
    try:
        made = requests.request_return(order, order.member, _all(order), "damaged",
                                       details="The cover is torn")
    finally:
        return_requested.disconnect(listener)
    assert heard == [made]
    (mail,) = _mails("return_requested")
    assert mail.to_email == order.member.email and made.number in mail.subject
    assert "Twenty" in mail.body_text


def test_each_mail_is_written_in_the_members_language(ctx):
    chinese = make_member(locale="zh_Hans", name="Li Lei")
    english = make_member(locale="en", name="Ann")
    for member in (chinese, english):
        order = paid_order(member)
        made = requests.request_return(order, member, _all(order), "damaged")
        requests.approve(made, make_staff())
    by_member = {m.member_id: m.body_text for m in _mails("return_approved")}
    assert by_member[english.id].startswith("Hello Ann,")
    assert by_member[chinese.id].startswith("Li Lei，您好：")  # the catalog's greeting


# --------------------------------------------------------------------------- staff steps


def test_staff_open_a_return_for_a_shipped_order_whatever_the_window_and_it_is_audited(ctx):
    staff = make_staff()
    unshipped = paid_order(delivered=False)
    with pytest.raises(ReturnRefused, match="cancelled instead"):
        requests.open_return_for(unshipped, staff, _all(unshipped), "other")
    order = paid_order(delivered=False, shipped=True)
    made = requests.open_return_for(order, staff, _all(order), "wrong_item", "Phoned in")
    assert made.opened_by_staff and made.opened_by_id == staff.id
    assert made.member_id == order.member_id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "return.open"))
    assert entry.actor_id == staff.id and entry.target_id == made.id


def test_a_rejection_needs_a_reason_which_is_kept_mailed_and_audited(ctx):
    staff = make_staff()
    order = paid_order()
    made = requests.request_return(order, order.member, _all(order), "changed_mind")
    with pytest.raises(ReturnRefused, match="Say why"):
        requests.reject(made, staff, "   ")
    requests.reject(made, staff, "Books were read and written in")
    assert made.status is ReturnStatus.REJECTED and made.rejected_at is not None
    (mail,) = _mails("return_rejected")
    assert "Books were read and written in" in mail.body_text
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "return.reject"))
    assert entry.before["status"] == "requested" and entry.after == {
        "status": "rejected", "reject_reason": "Books were read and written in"}
    with pytest.raises(ReturnRefused, match="cannot become"):
        requests.approve(made, staff)


def test_a_return_moves_requested_approved_received_refunded(ctx):
    staff = make_staff()
    order = paid_order()
    twenty, thirty = order.lines
    made = requests.request_return(order, order.member, _all(order), "damaged")
    requests.approve(made, staff)
    lines = {line.order_line_id: line.id for line in made.lines}
    restocked = requests.receive(made, staff, {lines[twenty.id]: (2, Restock.RESALEABLE),
                                               lines[thirty.id]: (1, "damaged")})
    assert restocked == 2 and made.status is ReturnStatus.RECEIVED
    refund = requests.refund_return(made, staff, lines=D("70.00"), shipping=D("10.00"),
                                    goodwill=None)
    db.session.commit()

    assert made.status is ReturnStatus.REFUNDED and refund.return_id == made.id
    assert order.revenue == D("0.00")
    assert db.session.get(Book, twenty.book_id).stock_on_hand == 5  # 3 left + 2 back
    assert db.session.get(Book, thirty.book_id).stock_on_hand == 4  # the damaged one not
    receipt = db.session.scalar(sa.select(StockReceipt))
    assert (receipt.book_id, receipt.quantity, receipt.reference) == (
        twenty.book_id, 2, f"Return {made.number}")
    assert [m.kind for m in db.session.scalars(
        sa.select(OutboxMail).where(OutboxMail.member_id == order.member_id,
                                    OutboxMail.kind != "review_invite")
        .order_by(OutboxMail.id))] == ["return_requested", "return_approved", "refund_issued"]
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.action.like("return.%")).order_by(AuditEntry.id)).all()
    assert actions == ["return.approve", "return.receive", "return.refund"]


def test_a_restocked_copy_of_a_demanded_book_mails_the_waiting_reader_once(ctx):
    staff = make_staff()
    book = make_book(price=D("20.00"), stock_on_hand=1)
    order = paid_order(lines=[(book, 1)])  # the last copy sold
    reader = make_member(email="waiting@example.test")
    demand = make_demand(member=reader, book=book)
    db.session.commit()
    made = requests.request_return(order, order.member, _all(order), "changed_mind")
    requests.approve(made, staff)
    requests.receive(made, staff, {made.lines[0].id: (1, Restock.RESALEABLE)})
    db.session.commit()

    arrivals = _mails("stock_arrived")
    assert [m.to_email for m in arrivals] == ["waiting@example.test"]
    assert db.session.get(Demand, demand.id).status is DemandStatus.NOTIFIED
    with pytest.raises(ReturnRefused):
        requests.receive(made, staff, {made.lines[0].id: (1, Restock.RESALEABLE)})
    db.session.rollback()
    assert len(_mails("stock_arrived")) == 1


def test_receiving_needs_every_line_and_sane_copies(ctx):
    staff = make_staff()
    order = paid_order()
    made = requests.request_return(order, order.member, _all(order), "damaged")
    requests.approve(made, staff)
    first, second = made.lines
    with pytest.raises(ReturnRefused, match="every book"):
        requests.receive(made, staff, {first.id: (2, "resaleable")})
    with pytest.raises(ReturnRefused, match="from 0 to 1"):
        requests.receive(made, staff, {first.id: (2, "resaleable"), second.id: (2, "damaged")})
    with pytest.raises(ReturnRefused, match="sold again"):
        requests.receive(made, staff, {first.id: (2, "lost"), second.id: (1, "damaged")})
    assert made.status is ReturnStatus.APPROVED


def test_a_request_not_yet_approved_cannot_be_received_or_refunded(ctx):
    staff = make_staff()
    order = paid_order()
    made = requests.request_return(order, order.member, _all(order), "damaged")
    with pytest.raises(ReturnRefused, match="cannot become"):
        requests.receive(made, staff, {line.id: (1, "damaged") for line in made.lines})
    with pytest.raises(ReturnRefused, match="cannot be refunded"):
        requests.refund_return(made, staff, lines=D("1.00"), shipping=None, goodwill=None)


def test_an_approved_return_is_refunded_only_once_received(ctx):
    """Refunding before the books came back would lock receiving out (and the copies out of
    stock) for good: receiving comes first; a refund without the goods is the order's own."""
    staff = make_staff()
    order = paid_order()
    made = requests.request_return(order, order.member, {order.lines[0].id: 2}, "damaged")
    requests.approve(made, staff)
    with pytest.raises(ReturnRefused, match="Record what came back before refunding"):
        requests.refund_return(made, staff, lines=D("40.00"), shipping=None, goodwill=None)
    assert made.status is ReturnStatus.APPROVED and order.refunded_cents == 0

    requests.receive(made, staff, {made.lines[0].id: (2, Restock.RESALEABLE)})
    refund = requests.refund_return(made, staff, lines=D("40.00"), shipping=None,
                                    goodwill=None)
    assert made.status is ReturnStatus.REFUNDED and refund.amount == D("40.00")


def test_a_received_return_with_nothing_worth_refunding_is_rejected_with_a_reason(ctx):
    staff = make_staff()
    order = paid_order()
    twenty, thirty = order.lines
    empty = requests.request_return(order, order.member, {twenty.id: 1}, "changed_mind")
    requests.approve(empty, staff)
    requests.receive(empty, staff, {empty.lines[0].id: (0, Restock.DAMAGED)})
    requests.reject(empty, staff, "Nothing came back in the parcel")
    assert empty.status is ReturnStatus.REJECTED and empty.rejected_at is not None
    (mail,) = _mails("return_rejected")
    assert "Nothing came back in the parcel" in mail.body_text
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "return.reject"))
    assert entry.before["status"] == "received"

    # What came back on a rejected return cannot be asked back (and restocked) again.
    kept = requests.request_return(order, order.member, {thirty.id: 1}, "changed_mind")
    requests.approve(kept, staff)
    requests.receive(kept, staff, {kept.lines[0].id: (1, Restock.RESALEABLE)})
    requests.reject(kept, staff, "Read and written in")
    assert requests.returnable(order) == {twenty.id: 2, thirty.id: 0}


def test_a_received_return_on_an_order_refunded_in_full_is_closed_with_no_amount(ctx):
    staff = make_staff()
    order = paid_order()
    made = requests.request_return(order, order.member, {order.lines[0].id: 1}, "damaged")
    requests.approve(made, staff)
    requests.receive(made, staff, {made.lines[0].id: (1, Restock.RESALEABLE)})
    with pytest.raises(RefundRefused, match="Enter an amount"):  # money is left: say how much
        requests.refund_return(made, staff, lines=None, shipping=None, goodwill=None)
    refund_order(order, lines=D("70.00"), shipping=D("10.00"), actor=staff)  # the whole order

    assert requests.refund_return(made, staff, lines=None, shipping=None,
                                  goodwill=D("0.00")) is None
    assert made.status is ReturnStatus.REFUNDED and made.refunded_at is not None
    assert made.refunds == [] and order.refunded == D("80.00")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "return.close"))
    assert (entry.before, entry.after) == ({"status": "received"}, {"status": "refunded"})


def test_a_returns_refund_for_the_books_is_at_most_the_copies_received(ctx):
    staff = make_staff()
    order = paid_order()  # 2 x 20.00 and 1 x 30.00, shipping 10.00
    made = requests.request_return(order, order.member, {order.lines[0].id: 2}, "damaged")
    requests.approve(made, staff)
    requests.receive(made, staff, {made.lines[0].id: (1, Restock.DAMAGED)})  # one came back
    with pytest.raises(RefundRefused, match="at most .*20.00: the value of the copies received"):
        requests.refund_return(made, staff, lines=D("70.00"), shipping=D("10.00"),
                               goodwill=None)
    assert made.status is ReturnStatus.RECEIVED and order.refunded_cents == 0
    refund = requests.refund_return(made, staff, lines=D("20.00"), shipping=D("10.00"),
                                    goodwill=None)
    assert (refund.amount, made.status) == (D("30.00"), ReturnStatus.REFUNDED)


def test_a_return_moved_meanwhile_asks_the_payment_method_for_nothing(ctx, monkeypatch):
    from app.ordering import payment

    staff = make_staff()
    order = paid_order()
    made = requests.request_return(order, order.member, {order.lines[0].id: 1}, "damaged")
    requests.approve(made, staff)
    requests.receive(made, staff, {made.lines[0].id: (1, Restock.RESALEABLE)})
    paid_out = []
    method = payment.METHODS[order.payment_method]
    spy = type("Spy", (), {"refund": lambda self, *a, **k: paid_out.append(a) or
                           method.refund(*a, **k)})()
    monkeypatch.setitem(payment.METHODS, order.payment_method, spy)
    # Someone else rejects it meanwhile (this session still reads it as received).
    db.session.execute(sa.update(ReturnRequest).where(ReturnRequest.id == made.id)
                       .values(status=ReturnStatus.REJECTED)
                       .execution_options(synchronize_session=False))
    with pytest.raises(ReturnRefused, match="changed by someone else"):
        requests.refund_return(made, staff, lines=D("20.00"), shipping=None, goodwill=None)
    assert paid_out == []
    assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 0
    assert db.session.get(Order, order.id).refunded_cents == 0
