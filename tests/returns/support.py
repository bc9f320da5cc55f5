"""Shared set-up for the returns tests: a member's order, paid (and delivered)."""

from __future__ import annotations

from decimal import Decimal

from app.core.extensions import db
from app.models import Order, OrderStatus
from app.ordering.orders import change_status
from tests.factories import make_book, make_member, make_placed_order


def paid_order(member=None, *, lines=None, delivered: bool = True, shipped: bool = False,
               shipping="10.00", **overrides) -> Order:
    """A member's order of two books (2 x 20.00 and 1 x 30.00, shipping 10.00: 80.00 paid),
    paid, shipped and delivered (or only paid; or paid and `shipped`)."""
    member = member or make_member()
    if lines is None:
        lines = [(make_book(price=Decimal("20.00"), title="Twenty"), 2),
                 (make_book(price=Decimal("30.00"), title="Thirty"), 1)]
    subtotal = sum((book.price * qty for book, qty in lines), Decimal("0.00"))
    order = make_placed_order(member, lines=lines, shipping_fee=Decimal(shipping),
                              total=subtotal + Decimal(shipping), **overrides)
    change_status(order, OrderStatus.PAID)
    if delivered or shipped:
        change_status(order, OrderStatus.SHIPPED)
    if delivered:
        change_status(order, OrderStatus.DELIVERED)
    db.session.flush()
    return order
