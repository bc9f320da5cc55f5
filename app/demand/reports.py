"""What staff read about demand: readers waiting per book (with its CSV), and conversion.

`demand_by_book` aggregates the readers waiting for each catalogued book (`Demand.is_waiting`,
the one definition) with the copies they want, the oldest and newest request and a purchase
suggestion; sortable, searchable, paginated. `demand_csv_rows` streams the same rows for the
export. `conversion` says how many readers told of an arrival bought within 7 and 30 days.
Read-only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.catalog.models import Book
from app.core.extensions import db
from app.core.paging import PagerMixin
from app.core.text import contains_pattern, fold
from app.demand.models import Demand

SORTS = ("waiting", "quantity", "suggested", "oldest", "newest", "title", "stock")


@dataclass(frozen=True)
class BookDemand:
    book_id: int
    title: str
    authors: str
    isbn13: str | None
    stock: int
    waiting: int
    quantity: int
    oldest: datetime
    newest: datetime
    notified: int = 0

    @property
    def suggested(self) -> int:
        """Copies to buy: total wanted minus stock, never negative."""
        return max(self.quantity - self.stock, 0)


@dataclass
class Page(PagerMixin):
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 0



def _counted():
    """Readers waiting for a catalogued book (Demand.is_waiting)."""
    return sa.and_(Demand.is_waiting, Demand.book_id.is_not(None))


def _aggregate(q: str | None = None, only_out: bool = False, sort: str = "waiting"):
    waiting = sa.func.count(Demand.id).label("waiting")
    quantity = sa.func.sum(Demand.quantity).label("quantity")
    oldest = sa.func.min(Demand.created_at).label("oldest")
    newest = sa.func.max(Demand.created_at).label("newest")
    suggested = sa.case((quantity > Book.stock_on_hand, quantity - Book.stock_on_hand),
                        else_=0)
    stmt = (
        sa.select(Book.id, Book.title, Book.authors, Book.isbn13, Book.stock_on_hand,
                  waiting, quantity, oldest, newest)
        .join(Book, Demand.book_id == Book.id)
        .where(_counted())
        .group_by(Book.id, Book.title, Book.authors, Book.isbn13, Book.stock_on_hand)
    )
    if q:
        stmt = stmt.where(Book.search_text.like(contains_pattern(fold(q)), escape="\\"))
    if only_out:
        stmt = stmt.where(Book.stock_on_hand == 0)
    order = {
        "waiting": (waiting.desc(), oldest),
        "quantity": (quantity.desc(), oldest),
        "suggested": (suggested.desc(), oldest),
        "oldest": (oldest,),
        "newest": (newest.desc(),),
        "title": (Book.title_sort,),  # pinyin for Chinese titles
        "stock": (Book.stock_on_hand, waiting.desc()),
    }[sort if sort in SORTS else "waiting"]
    return stmt.order_by(*order, Book.id)


def _book_demand(row) -> BookDemand:
    return BookDemand(book_id=row.id, title=row.title, authors=row.authors, isbn13=row.isbn13,
                      stock=row.stock_on_hand, waiting=row.waiting, quantity=int(row.quantity),
                      oldest=_aware(row.oldest), newest=_aware(row.newest))


def _aware(value):
    """min()/max() over a UTCDateTime column bypass its type on SQLite: make them aware."""
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def demand_by_book(q: str | None = None, only_out: bool = False, sort: str = "waiting",
                   page: int = 1, per_page: int = 25) -> Page:
    """Open demand per book: readers waiting, copies wanted, oldest/newest, stock, suggestion."""
    stmt = _aggregate(q, only_out, sort)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=[_book_demand(r) for r in rows], page=page, per_page=per_page,
                total=total or 0)


CSV_HEADER = ["book_id", "title", "authors", "isbn13", "stock", "members_waiting",
              "total_quantity", "suggested_purchase", "oldest_request", "newest_request"]


def demand_csv_rows(q: str | None = None, only_out: bool = False,
                    sort: str = "waiting") -> Iterator[list[str]]:
    """The aggregate as CSV rows (header first), read in batches for streaming through
    `app.core.exports.csv_response` (which neutralises formula cells)."""
    yield CSV_HEADER
    result = db.session.execute(_aggregate(q, only_out, sort).execution_options(yield_per=500))
    for row in result:
        d = _book_demand(row)
        yield [d.book_id, d.title, d.authors, d.isbn13, d.stock, d.waiting, d.quantity,
               d.suggested, d.oldest.isoformat(), d.newest.isoformat()]


# --------------------------------------------------------------------------- conversion


@dataclass(frozen=True)
class Conversion:
    notified: int
    bought_7: int
    bought_30: int
    median_wait_days: float | None  # from request to arrival (notification)

    @property
    def rate_7(self) -> float | None:
        return self.bought_7 / self.notified if self.notified else None

    @property
    def rate_30(self) -> float | None:
        return self.bought_30 / self.notified if self.notified else None


def _conversion(rows) -> Conversion:
    notified = bought_7 = bought_30 = 0
    waits: list[float] = []
    for created_at, notified_at, fulfilled_at in rows:
        notified += 1
        created_at, notified_at = _aware(created_at), _aware(notified_at)
        waits.append((notified_at - created_at).total_seconds() / 86400)
        if fulfilled_at is not None:
            delay = _aware(fulfilled_at) - notified_at
            bought_7 += delay <= timedelta(days=7)
            bought_30 += delay <= timedelta(days=30)
    return Conversion(notified, bought_7, bought_30,
                      round(statistics.median(waits), 1) if waits else None)


def conversion(book_ids: list[int] | None = None) -> tuple[Conversion, dict[int, Conversion]]:
    """Of the readers told copies arrived: how many bought within 7 and 30 days, and the median
    wait from request to arrival; overall, and per book for `book_ids`."""
    base = sa.select(Demand.book_id, Demand.created_at, Demand.notified_at,
                     Demand.fulfilled_at).where(Demand.notified_at.is_not(None),
                                                Demand.book_id.is_not(None))
    overall = _conversion(
        (r.created_at, r.notified_at, r.fulfilled_at)
        for r in db.session.execute(base.execution_options(yield_per=1000))
    )
    per_book: dict[int, list] = {}
    if book_ids:
        for r in db.session.execute(base.where(Demand.book_id.in_(book_ids))):
            per_book.setdefault(r.book_id, []).append((r.created_at, r.notified_at,
                                                       r.fulfilled_at))
    return overall, {book_id: _conversion(rows) for book_id, rows in per_book.items()}
