"""The webhook events, from the signals of the features below (app/core/signals.py).

Each receiver runs in the sender's transaction and queues its event there (`queue_event`):
a rolled-back change leaves no delivery behind. They flush, never commit, and build a payload
only when an active endpoint subscribes to the event (one small query otherwise).
"""

from __future__ import annotations

from datetime import datetime

from app.ordering.models import Order
from app.webhooks import events
from app.webhooks.events import iso, money


def _order_number(order_id: int | None) -> str | None:
    return None if order_id is None else Order.number_for(order_id)


def _order(order) -> dict:
    return {"id": order.id, "number": order.number, "member_id": order.member_id,
            "status": order.status.value, "subtotal": money(order.subtotal),
            "discount_total": money(order.discount_total),
            "shipping_fee": money(order.shipping_fee), "total": money(order.total),
            "placed_at": iso(order.placed_at)}


def on_order_placed(order, *, when: datetime | None = None, **_signal) -> None:
    def payload() -> dict:
        data = _order(order)
        data["lines"] = [{"book_id": line.book_id, "quantity": line.quantity,
                          "unit_price": money(line.unit_price),
                          "line_total": money(line.line_total)} for line in order.lines]
        return {"order": data}

    events.queue_event(events.ORDER_PLACED, payload, now=when)


def on_order_status_changed(order, *, previous=None, now: datetime | None = None,
                            **_signal) -> None:
    def payload() -> dict:
        return {"order": _order(order),
                "from_status": getattr(previous, "value", previous),
                "to_status": order.status.value, "changed_at": iso(now)}

    events.queue_event(events.ORDER_STATUS_CHANGED, payload, now=now)


def on_stock_received(receipt, *, book=None, quantity: int | None = None, held: int = 0,
                      shelved: int = 0, notified: int = 0, **_signal) -> None:
    def payload() -> dict:
        return {"receipt": {
            "id": receipt.id, "book_id": receipt.book_id,
            "isbn13": getattr(book, "isbn13", None), "title": getattr(book, "title", None),
            "quantity": quantity if quantity is not None else receipt.quantity,
            "held": held, "shelved": shelved, "readers_notified": notified,
            "supplier": receipt.supplier, "reference": receipt.reference,
            "received_at": iso(receipt.received_at)}}

    events.queue_event(events.STOCK_RECEIVED, payload, now=receipt.received_at)


def on_demand_created(demand, **_signal) -> None:
    def payload() -> dict:
        book = demand.book if demand.book_id is not None else None
        return {"demand": {
            "id": demand.id, "member_id": demand.member_id, "book_id": demand.book_id,
            "isbn13": book.isbn13 if book is not None else demand.requested_isbn,
            # what was asked for, for a book the shop does not carry yet
            "requested_title": None if book is not None else demand.requested_title,
            "requested_author": None if book is not None else demand.requested_author,
            "quantity": demand.quantity, "status": demand.status.value,
            "created_at": iso(demand.created_at)}}

    events.queue_event(events.DEMAND_CREATED, payload)


def on_grade_changed(_sender=None, *, changes: list[dict] = (), **_signal) -> None:
    """One event per member whose grade really moved (an admin pinning the grade a member
    already had writes a GradeChange row, but is no change for the systems outside)."""
    moved = [c for c in changes if c.get("from_code") != c.get("to_code")]
    if not moved:
        return
    events.queue_events(events.GRADE_CHANGED, ({
        "member_id": c["member_id"], "from_grade": c.get("from_code"),
        "to_grade": c["to_code"], "reason": getattr(c.get("reason"), "value", c.get("reason")),
        "qualifying_spend": money(c.get("spend")), "order_id": c.get("order_id"),
        "order_number": _order_number(c.get("order_id")), "changed_at": iso(c.get("at")),
    } for c in moved), now=moved[0].get("at"))


def on_return_requested(request, **_signal) -> None:
    """The returns feature's ReturnRequest (built in parallel with this feature): only what
    any request has is read, each attribute optional (its id, its order, its status, its time
    as `requested_at` or `created_at`, and its lines' order line and quantity)."""
    def payload() -> dict:
        order_id = getattr(request, "order_id", None)
        status = getattr(request, "status", None)
        lines = [{"order_line_id": getattr(line, "order_line_id", None),
                  "quantity": getattr(line, "quantity", None)}
                 for line in (getattr(request, "lines", None) or [])]
        return {"return": {
            "id": getattr(request, "id", None), "order_id": order_id,
            "order_number": _order_number(order_id),
            "status": getattr(status, "value", status), "lines": lines,
            "requested_at": iso(getattr(request, "requested_at", None)
                                or getattr(request, "created_at", None))}}

    events.queue_event(events.RETURN_REQUESTED, payload)
