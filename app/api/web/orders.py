"""Orders for staff: list and detail (orders:read), status changes (orders:write) through the
same service as the admin's order page: the same life cycle, stock returned on cancelling, the
same events (order_status_changed) and the audit entry under the token's owner."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from app.admin.common import ID
from app.api.auth import current_owner
from app.api.web import ApiBlueprint
from app.api.web import schemas as s
from app.api.web.paging import envelope
from app.core.errors import NotFound
from app.core.extensions import db
from app.crm import customers
from app.ordering import order_list
from app.ordering import orders as order_rules
from app.ordering.models import Order

PATH = "/orders"
blp = ApiBlueprint("api_orders", __name__, description="Orders (staff scopes orders:read/write)")

_CUSTOMERS = order_list.CustomerSearch(prefix_match=customers.prefix_match,
                                       members=customers.search_condition)
_FIELDS = ("id", "number", "member_id", "email", "placed_at", "paid_at", "shipped_at",
           "delivered_at", "cancelled_at", "subtotal", "discount_total", "shipping_fee",
           "total", "payment_method")
_SHIPPING = ("ship_name", "ship_line1", "ship_line2", "ship_city", "ship_region",
             "ship_postcode", "ship_country")


def order_out(order: Order) -> dict:
    return {**{name: getattr(order, name) for name in _FIELDS}, "status": order.status.value}


def order_detail_out(order: Order) -> dict:
    return {
        **order_out(order), **{name: getattr(order, name) for name in _SHIPPING},
        "lines": [{"book_id": line.book_id, "title": line.title, "authors": line.authors,
                   "unit_price": line.unit_price, "quantity": line.quantity,
                   "line_total": line.line_total} for line in order.lines],
        "events": [{"at": e.at, "from_status": e.from_status.value if e.from_status else None,
                    "to_status": e.to_status.value, "note": e.note} for e in order.events],
    }


def _order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


@blp.route("")
@blp.scoped("orders:read")
@blp.etag
@blp.arguments(s.OrderQuery, location="query", as_kwargs=True)
@blp.response(200, s.OrderPage)
def list_orders(page, per_page, status=None, q=None, placed_from: date | None = None,
                placed_to: date | None = None):
    """Orders, newest first: by status, placed between two days, or searched (number, email,
    customer)."""
    filters = order_list.OrderFilters(status=status, date_from=placed_from, date_to=placed_to,
                                      q=(q or "").strip() or None)
    result = order_list.orders_page(filters, _CUSTOMERS, page, per_page)
    return envelope(result, [order_out(o) for o in result.items])


@blp.route(f"/<{ID}:order_id>")
@blp.scoped("orders:read")
@blp.etag
@blp.response(200, s.OrderDetailSchema)
def get_order(order_id):
    """One order with its lines and status history."""
    return order_detail_out(_order(order_id))


@blp.route(f"/<{ID}:order_id>/status", methods=["POST"])
@blp.scoped("orders:write")
@blp.arguments(s.StatusChange, as_kwargs=True)
@blp.response(200, s.OrderDetailSchema)
def change_status(order_id, status, note=None):
    """Move an order on in its life cycle (a move it does not allow is a 409)."""
    order = order_rules.change_status(_order(order_id), status, actor=current_owner(),
                                      note=note)
    return order_detail_out(order)
