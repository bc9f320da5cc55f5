"""The staff's order list: the orders a filter selects, newest first, a page of them, and the
same orders as CSV rows (read in batches, never all in memory).

A search text is an order number (BS-0000123, 123), the start of the email address on the
order, or the customer as the customer list finds them. How the customer list finds people
belongs to the feature above ordering that keeps that list: its caller lends it as a
`CustomerSearch`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from app.core.extensions import db
from app.grades.table import load_rules
from app.membership.models import Member
from app.ordering.models import Order, OrderStatus

_ORDER_NUMBER = re.compile(r"(?:bs-?)?0*(\d{1,9})", re.IGNORECASE)


@dataclass(frozen=True)
class CustomerSearch:
    """How the customer list matches text: `prefix_match(column, text)` is "column starts with
    text" (index-served), `members(text)` the members the text finds (None: no condition)."""

    prefix_match: Callable[[sa.ColumnElement, str], sa.ColumnElement[bool]]
    members: Callable[[str], sa.ColumnElement[bool] | None]


@dataclass(frozen=True)
class OrderFilters:
    """What the list is asked for, already checked by the form (blank: no filter)."""

    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _search(text: str, customers: CustomerSearch) -> sa.ColumnElement[bool]:
    """Each lookup is an index lookup, joined as `id IN (… UNION …)`: the newest-first page
    never walks the orders testing each."""
    lookups = [sa.select(Order.id).where(customers.prefix_match(Order.email, text.lower()))]
    number = _ORDER_NUMBER.fullmatch(text)
    if number:
        lookups.append(sa.select(Order.id).where(Order.id == int(number.group(1))))
    else:  # "123" is an order number here, not member 123
        members = customers.members(text)
        if members is not None:
            lookups.append(sa.select(Order.id).where(
                Order.member_id.in_(sa.select(Member.id).where(members))))
    return Order.id.in_(sa.union(*lookups))


def _filtered(stmt: sa.Select, filters: OrderFilters, customers: CustomerSearch) -> sa.Select:
    """`stmt` narrowed by the filters (status, placed between, search text), newest first."""
    if filters.status:
        stmt = stmt.where(Order.status == OrderStatus(filters.status))
    if filters.date_from:
        stmt = stmt.where(Order.placed_at >= _day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(Order.placed_at < _day_start(filters.date_to) + timedelta(days=1))
    if filters.q:
        stmt = stmt.where(_search(filters.q, customers))
    return stmt.order_by(Order.placed_at.desc(), Order.id.desc())


def orders_page(filters: OrderFilters, customers: CustomerSearch, page: int,
                per_page: int) -> Pagination:
    """One page of the selected orders, newest first; a page past the end is a 404."""
    return db.paginate(_filtered(sa.select(Order), filters, customers), page=page,
                       per_page=per_page, error_out=True)


CSV_HEADER = ("order", "placed_at", "status", "email", "member_no", "customer", "subtotal",
              "discount", "shipping", "total", "tier", "payment_method", "paid_at",
              "shipped_at", "delivered_at", "cancelled_at", "ship_city", "ship_country")


@dataclass(frozen=True)
class OrderExport:
    """Every order the filters select: `count` of them, and `rows()` to stream (header first)."""

    stmt: sa.Select
    count: int

    def rows(self) -> Iterator[tuple]:
        """The CSV rows, read from the database 500 at a time."""
        names = {rule.code: rule.name for rule in load_rules()}
        yield CSV_HEADER
        for row in db.session.execute(self.stmt.execution_options(yield_per=500)):
            yield (f"BS-{row.id:07d}", _iso(row.placed_at), row.status.value, row.email,
                   row.member_no or "", row.ship_name, row.subtotal, row.discount_total,
                   row.shipping_fee, row.total, names.get(row.tier_code, row.tier_code),
                   row.payment_method, _iso(row.paid_at), _iso(row.shipped_at),
                   _iso(row.delivered_at), _iso(row.cancelled_at), row.ship_city,
                   row.ship_country)


def orders_export(filters: OrderFilters, customers: CustomerSearch) -> OrderExport:
    """The export of the selected orders (not only one page), counted with one query."""
    stmt = _filtered(
        sa.select(Order.id, Order.placed_at, Order.status, Order.email, Member.member_no,
                  Order.ship_name, Order.subtotal, Order.discount_total, Order.shipping_fee,
                  Order.total, Order.tier_code, Order.payment_method, Order.paid_at,
                  Order.shipped_at, Order.delivered_at, Order.cancelled_at, Order.ship_city,
                  Order.ship_country)
        .join(Member, Member.id == Order.member_id),
        filters, customers,
    )
    count = db.session.scalar(sa.select(sa.func.count()).select_from(
        stmt.order_by(None).subquery()))
    return OrderExport(stmt, count or 0)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""
