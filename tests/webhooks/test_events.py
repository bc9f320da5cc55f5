"""Each event of the shop becomes one delivery per subscribed endpoint, written in the event's
own transaction: a change rolled back leaves no delivery; its body is small, stable JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from app.core import signals
from app.core.extensions import db
from app.demand.lists import record_demand
from app.demand.stock import receive_stock
from app.demand.uncatalogued import request_uncatalogued
from app.grades.staff_grades import set_member_grade
from app.ordering.checkout import ShippingAddress, place_order
from app.ordering.orders import change_status
from app.webhooks.events import EVENT_TYPES, STOCK_RECEIVED
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.factories import make_admin, make_book, make_member
from tests.webhooks.conftest import make_endpoint

ADDRESS = ShippingAddress(name="Rosa Reader", line1="1 Quiet Street", city="Shanghai",
                          postcode="200000", country="China")
URL = "http://127.0.0.1:9/hooks"


def deliveries(event_type: str | None = None) -> list[WebhookDelivery]:
    query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if event_type:
        query = query.where(WebhookDelivery.event_type == event_type)
    return list(db.session.scalars(query))


def body(delivery: WebhookDelivery) -> dict:
    return json.loads(delivery.payload)


def test_a_placed_order_is_one_delivery_per_subscribed_endpoint(ctx):
    first, second = make_endpoint(URL), make_endpoint(URL + "/2")
    make_endpoint(URL + "/3", events=[STOCK_RECEIVED])  # not interested
    make_endpoint(URL + "/4", active=False)  # disabled
    book = make_book(title="Dune", price=Decimal("12.50"), stock_on_hand=3)
    member = make_member()

    order = place_order(member, address=ADDRESS, payment_method="cod", lines=[(book.id, 2)])

    rows = deliveries("order.placed")
    assert [row.endpoint_id for row in rows] == [first.id, second.id]
    assert rows[0].event_id == rows[1].event_id  # one event, told to two endpoints
    assert rows[0].status == DeliveryStatus.PENDING and rows[0].attempts == 0
    sent = body(rows[0])
    assert sent["type"] == "order.placed" and sent["id"] == rows[0].event_id
    assert sent["data"]["order"]["number"] == order.number
    assert sent["data"]["order"]["total"] == str(order.total)
    assert sent["data"]["order"]["member_id"] == member.id
    assert sent["data"]["order"]["lines"] == [
        {"book_id": book.id, "quantity": 2, "unit_price": "12.50", "line_total": "25.00"}]
    assert "Rosa" not in rows[0].payload and member.email not in rows[0].payload


def test_an_event_rolled_back_leaves_no_delivery(ctx):
    make_endpoint(URL)
    book = make_book(stock_on_hand=0)
    db.session.commit()

    receive_stock(book.id, 3)
    assert len(deliveries(STOCK_RECEIVED)) == 1  # written in the receipt's transaction
    db.session.rollback()

    assert deliveries() == []


def test_an_event_committed_keeps_its_delivery(ctx):
    make_endpoint(URL)
    book = make_book(stock_on_hand=0, isbn13="9780441013593")
    db.session.commit()

    result = receive_stock(book.id, 3, supplier="Wholesale Ltd", note="a private note")
    db.session.commit()

    [row] = deliveries(STOCK_RECEIVED)
    data = body(row)["data"]["receipt"]
    assert data["id"] == result.receipt.id and data["quantity"] == 3
    assert data["isbn13"] == "9780441013593" and data["supplier"] == "Wholesale Ltd"
    assert "private note" not in row.payload


def test_an_order_status_change_says_from_and_to(ctx):
    make_endpoint(URL, events=["order.status_changed"])
    book = make_book(stock_on_hand=3)
    order = place_order(make_member(), address=ADDRESS, payment_method="cod",
                        lines=[(book.id, 1)])

    change_status(order, "paid")

    [row] = deliveries("order.status_changed")
    data = body(row)["data"]
    assert (data["from_status"], data["to_status"]) == ("placed", "paid")
    assert data["order"]["number"] == order.number


def test_a_new_demand_is_an_event_and_updating_it_is_not(ctx):
    make_endpoint(URL, events=["demand.created"])
    member = make_member()
    book = make_book(stock_on_hand=0)

    demand = record_demand(member, book, quantity=1)
    record_demand(member, book, quantity=2)  # the same open demand, updated
    request_uncatalogued(member, "A Book Not Yet Carried", author="Someone")

    rows = deliveries("demand.created")
    assert len(rows) == 2
    first, second = body(rows[0])["data"]["demand"], body(rows[1])["data"]["demand"]
    assert first["id"] == demand.id and first["book_id"] == book.id
    assert second["book_id"] is None and second["requested_title"] == "A Book Not Yet Carried"


def test_a_grade_set_by_an_admin_is_an_event(ctx):
    make_endpoint(URL, events=["member.grade_changed"])
    member, admin = make_member(), make_admin()

    set_member_grade(member, "gold", "A loyal customer", admin)

    [row] = deliveries("member.grade_changed")
    data = body(row)["data"]
    assert data["member_id"] == member.id
    assert (data["from_grade"], data["to_grade"], data["reason"]) == ("regular", "gold", "admin")


def test_a_return_request_is_an_event(ctx):
    """The returns feature sends `return_requested` with its ReturnRequest; a stand-in here."""
    make_endpoint(URL, events=["return.requested"])
    request = SimpleNamespace(id=7, order_id=4327, status="requested", created_at=None,
                              lines=[SimpleNamespace(order_line_id=3, quantity=1)])

    signals.return_requested.send(request)

    [row] = deliveries("return.requested")
    data = body(row)["data"]["return"]
    assert data["order_number"] == "BS-0004327"
    assert data["lines"] == [{"order_line_id": 3, "quantity": 1}]


def test_no_endpoint_no_delivery(ctx):
    book = make_book(stock_on_hand=0)

    receive_stock(book.id, 1)

    assert deliveries() == []
    assert set(EVENT_TYPES) == {"order.placed", "order.status_changed", "stock.received",
                                "demand.created", "member.grade_changed", "return.requested"}


def test_grades_moved_at_once_are_one_event_per_member_that_really_moved(ctx):
    """A table change or recompute writes many GradeChange rows in one go; an admin pinning
    the grade a member already had writes one that is no move."""
    from datetime import UTC, datetime

    make_endpoint(URL, events=["member.grade_changed"])
    at = datetime(2026, 12, 6, 2, 40, tzinfo=UTC)
    changes = [
        {"member_id": 1, "from_code": "regular", "to_code": "silver", "reason": "recompute",
         "spend": Decimal("512.5"), "at": at, "order_id": None},
        {"member_id": 2, "from_code": "gold", "to_code": "gold", "reason": "admin",
         "spend": Decimal("2100"), "at": at, "order_id": None},
        {"member_id": 3, "from_code": "silver", "to_code": "regular", "reason": "refund",
         "spend": Decimal("10"), "at": at, "order_id": 4327},
    ]

    signals.grade_changed.send(None, changes=changes)

    rows = deliveries("member.grade_changed")
    assert [body(row)["data"]["member_id"] for row in rows] == [1, 3]
    assert len({row.event_id for row in rows}) == 2
    first, last = body(rows[0])["data"], body(rows[1])["data"]
    assert first["qualifying_spend"] == "512.50" and first["changed_at"] == "2026-12-06T02:40:00Z"
    assert last["order_number"] == "BS-0004327"


def test_a_visitors_demand_is_an_event_once_its_address_is_confirmed(ctx):
    import re

    from app.demand.visitors import confirm_visitor_demand, record_visitor_demand
    from app.models import OutboxMail

    make_endpoint(URL, events=["demand.created"])
    book = make_book(stock_on_hand=0)

    demand = record_visitor_demand("visitor@example.test", book)
    assert deliveries() == []  # nothing counts before the address is proven
    mail = db.session.scalars(sa.select(OutboxMail)).one()
    token = re.search(r"/demand/confirm/([A-Za-z0-9_\-]+)", mail.body_text).group(1)
    confirm_visitor_demand(token)

    [row] = deliveries("demand.created")
    data = body(row)["data"]["demand"]
    assert data["id"] == demand.id and data["member_id"] is None
    assert "visitor@example.test" not in row.payload
