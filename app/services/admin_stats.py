"""The admin dashboard's figures, aggregated in SQL (read-only; money stays Decimal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.db import utcnow
from app.extensions import db
from app.models import Book, MailStatus, Order, OrderStatus, OutboxMail
from app.money import ZERO

# Orders that still need a member of staff to do something, in the order they move.
WAITING_STATUSES = (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.SHIPPED)


@dataclass(frozen=True)
class OrderFigures:
    """Orders placed in a period; `revenue` leaves cancelled orders out."""

    since: datetime
    orders: int
    revenue: Decimal
    cancelled: int


@dataclass(frozen=True)
class Dashboard:
    today: OrderFigures
    last_7_days: OrderFigures
    waiting: dict[OrderStatus, int]
    low_stock: list[Book]
    low_stock_count: int
    out_of_stock_count: int
    low_stock_threshold: int
    mail_pending: int
    mail_failed: int


def start_of_day(moment: datetime) -> datetime:
    """Midnight (UTC, the shop's reporting day) of the day `moment` falls in."""
    return datetime.combine(moment.date(), time.min, tzinfo=moment.tzinfo)


def order_figures(since: datetime) -> OrderFigures:
    """How many orders were placed since `since`, and what the ones not cancelled are worth.

    One query; the SUM runs over integer cents, so the total is exact.
    """
    not_cancelled = Order.status != OrderStatus.CANCELLED
    row = db.session.execute(
        sa.select(
            sa.func.count(Order.id),
            sa.func.sum(sa.case((not_cancelled, Order.total), else_=None)).label("revenue"),
            sa.func.count(sa.case((not_cancelled, None), else_=Order.id)),
        ).where(Order.placed_at >= since)
    ).one()
    count, revenue, cancelled = row
    return OrderFigures(since=since, orders=count, revenue=_money(revenue), cancelled=cancelled)


def _money(value: object) -> Decimal:
    """A SUM over a Money column comes back as Decimal, or None when no rows matched."""
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal sum, got {type(value).__name__}")
    return value


def orders_waiting() -> dict[OrderStatus, int]:
    """Open orders by status (placed: to be paid; paid: to ship; shipped: to be delivered)."""
    counts = dict(
        db.session.execute(
            sa.select(Order.status, sa.func.count(Order.id))
            .where(Order.status.in_(WAITING_STATUSES))
            .group_by(Order.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in WAITING_STATUSES}


def low_stock_books(threshold: int, limit: int = 10) -> tuple[list[Book], int, int]:
    """(the books for sale closest to running out, how many are low, how many are out)."""
    low = sa.and_(Book.is_active.is_(True), Book.stock_on_hand <= threshold)
    books = list(
        db.session.scalars(
            sa.select(Book).where(low).order_by(Book.stock_on_hand, Book.sold_count.desc(),
                                                Book.id).limit(limit)
        )
    )
    low_count, out_count = db.session.execute(
        sa.select(
            sa.func.count(Book.id),
            sa.func.count(sa.case((Book.stock_on_hand == 0, Book.id), else_=None)),
        ).where(low)
    ).one()
    return books, low_count, out_count


def mail_counts() -> dict[MailStatus, int]:
    counts = dict(
        db.session.execute(
            sa.select(OutboxMail.status, sa.func.count(OutboxMail.id)).group_by(OutboxMail.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in MailStatus}


def dashboard(low_stock_threshold: int, now: datetime | None = None) -> Dashboard:
    """Everything the dashboard shows, as of `now` (default: this moment)."""
    now = now or utcnow()
    today = start_of_day(now)
    books, low_count, out_count = low_stock_books(low_stock_threshold)
    mails = mail_counts()
    return Dashboard(
        today=order_figures(today),
        last_7_days=order_figures(today - timedelta(days=6)),
        waiting=orders_waiting(),
        low_stock=books,
        low_stock_count=low_count,
        out_of_stock_count=out_count,
        low_stock_threshold=low_stock_threshold,
        mail_pending=mails[MailStatus.PENDING],
        mail_failed=mails[MailStatus.FAILED],
    )
