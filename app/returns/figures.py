"""Returns figures over a period (UTC days, both ends included): how often each book comes
back (copies returned / copies sold), why returns are asked for, and what was refunded.

- A return counts by when it was asked for; a rejected one counts in "asked" (by reason) but
  its copies are not "returned". A return received (or refunded) counts the copies that came
  back (`received_quantity`), not those asked for; one not received yet, those asked for.
- Copies sold are the copies of paid (shipped, delivered) orders placed in the period
  (`Order.is_paid`), so a book's return rate is returned / sold for the same days.
- Refunds count by when they were made, in integer cents (exact sums).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.core.money import from_cents
from app.ordering.models import Order, OrderLine
from app.returns.models import Refund, ReturnLine, ReturnReason, ReturnRequest, ReturnStatus

TOP_BOOKS = 50


@dataclass(frozen=True)
class BookReturns:
    book_id: int
    title: str
    sold: int
    returned: int

    @property
    def rate(self) -> Decimal | None:
        """Copies returned per copy sold (None when none was sold in the period)."""
        return (Decimal(self.returned) / self.sold) if self.sold else None


@dataclass(frozen=True)
class ReasonReturns:
    reason: ReturnReason
    requests: int
    copies: int


@dataclass(frozen=True)
class ReturnsReport:
    start: date
    end: date
    requests: int
    copies_returned: int
    copies_sold: int
    refunds: int
    refunded: Decimal
    by_book: list[BookReturns]
    by_reason: list[ReasonReturns]

    @property
    def rate(self) -> Decimal | None:
        return Decimal(self.copies_returned) / self.copies_sold if self.copies_sold else None


def last_days(days: int, today: date | None = None) -> tuple[date, date]:
    """The period of the last `days` days, today included (the returns report's default)."""
    today = today or utcnow().date()
    return today - timedelta(days=days - 1), today


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(), UTC),
            datetime.combine(end + timedelta(days=1), time(), UTC))


def returns_report(start: date, end: date) -> ReturnsReport:
    """The figures for the days start..end (UTC), in five queries."""
    low, high = _bounds(start, end)
    in_period = sa.and_(ReturnRequest.created_at >= low, ReturnRequest.created_at < high)
    kept = ReturnRequest.status != ReturnStatus.REJECTED
    # Copies received once known (received, refunded), else those asked for.
    returned_copies = sa.func.coalesce(ReturnLine.received_quantity, ReturnLine.quantity)

    by_reason_rows = db.session.execute(
        sa.select(ReturnRequest.reason, sa.func.count(sa.distinct(ReturnRequest.id)),
                  sa.func.coalesce(sa.func.sum(ReturnLine.quantity), 0))
        .join(ReturnLine, ReturnLine.return_id == ReturnRequest.id)
        .where(in_period).group_by(ReturnRequest.reason)).all()
    by_reason = sorted((ReasonReturns(ReturnReason(r), int(n), int(c))
                        for r, n, c in by_reason_rows), key=lambda x: (-x.requests, x.reason))

    returned_rows = dict(db.session.execute(
        sa.select(OrderLine.book_id, sa.func.sum(returned_copies))
        .join(ReturnLine, ReturnLine.order_line_id == OrderLine.id)
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(in_period, kept).group_by(OrderLine.book_id)
        .having(sa.func.sum(returned_copies) > 0)).all())
    sold_rows = {book_id: (title, int(sold)) for book_id, title, sold in db.session.execute(
        sa.select(OrderLine.book_id, sa.func.max(OrderLine.title), sa.func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.is_paid, Order.placed_at >= low, Order.placed_at < high)
        .group_by(OrderLine.book_id)).all()}
    titles = dict(db.session.execute(
        sa.select(OrderLine.book_id, sa.func.max(OrderLine.title))
        .where(OrderLine.book_id.in_(list(returned_rows) or [0]))
        .group_by(OrderLine.book_id)).all())
    by_book = sorted(
        (BookReturns(book_id, titles.get(book_id, ""), sold_rows.get(book_id, ("", 0))[1],
                     int(returned)) for book_id, returned in returned_rows.items()),
        key=lambda b: (-b.returned, b.book_id))[:TOP_BOOKS]

    refunds, refunded_cents = db.session.execute(
        sa.select(sa.func.count(Refund.id),
                  sa.func.coalesce(sa.func.sum(sa.type_coerce(Refund.amount, sa.BigInteger)), 0))
        .where(Refund.created_at >= low, Refund.created_at < high)).one()
    requests = sum(r.requests for r in by_reason)
    return ReturnsReport(
        start=start, end=end, requests=requests,
        copies_returned=sum(int(v) for v in returned_rows.values()),
        copies_sold=sum(sold for _title, sold in sold_rows.values()),
        refunds=int(refunds), refunded=from_cents(int(refunded_cents)),
        by_book=by_book, by_reason=by_reason)


def report_rows(report: ReturnsReport) -> Iterator[list[object]]:
    """The numbers behind the report page, as CSV rows: one section after another."""
    yield ["section", "key", "label", "value_1", "value_2", "rate"]
    yield ["period", "from", report.start.isoformat(), "", "", ""]
    yield ["period", "to", report.end.isoformat(), "", "", ""]
    yield ["totals", "requests", "", report.requests, "", ""]
    yield ["totals", "copies_returned_of_sold", "", report.copies_returned, report.copies_sold,
           _rate(report.rate)]
    yield ["totals", "refunds_count_amount", "", report.refunds, str(report.refunded), ""]
    for r in report.by_reason:
        yield ["by_reason", r.reason.value, "", r.requests, r.copies, ""]
    for b in report.by_book:
        yield ["by_book", b.book_id, b.title, b.returned, b.sold, _rate(b.rate)]


def _rate(rate: Decimal | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


@dataclass(frozen=True)
class ReturnsCard:
    """The dashboard's returns card: returns waiting for staff, and refunds of the last days."""

    waiting: int  # requested, approved or received: not yet closed
    refunded: Decimal
    refunds: int
    days: int


def dashboard_card(now: datetime, days: int = 30) -> ReturnsCard:
    """Two small queries (an index on status, one on refund time)."""
    waiting = db.session.scalar(
        sa.select(sa.func.count(ReturnRequest.id)).where(ReturnRequest.status.in_(
            (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED)))) or 0
    count, cents = db.session.execute(
        sa.select(sa.func.count(Refund.id),
                  sa.func.coalesce(sa.func.sum(sa.type_coerce(Refund.amount, sa.BigInteger)), 0))
        .where(Refund.created_at >= now - timedelta(days=days))).one()
    return ReturnsCard(int(waiting), from_cents(int(cents)), int(count), days)
