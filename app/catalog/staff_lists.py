"""The staff's lists of the catalog: books found by text, stock and sort; the low-stock list with
the readers waiting for each book; the categories with how many books each holds.

Read-only: every function builds a query (or runs one) and changes nothing.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.catalog import isbn as isbn_rules
from app.catalog.models import Book, Category
from app.core.extensions import db
from app.core.text import contains_pattern, fold
from app.demand.models import Demand

# The staff book list's sorts (the keys are the filter form's choices).
BOOK_SORTS = {
    "title": (Book.title_sort, Book.id),
    "newest": (Book.created_at.desc(), Book.id.desc()),
    "stock": (Book.stock_on_hand, Book.title_sort, Book.id),
    "price": (Book.price, Book.title_sort, Book.id),
    "price_desc": (Book.price.desc(), Book.title_sort, Book.id),
    "sold": (Book.sold_count.desc(), Book.title_sort, Book.id),
}
_ISBN_LIKE = re.compile(r"[\d\s\-‐xX]{4,}")


def _matching(query: str) -> sa.ColumnElement[bool]:
    """Title, authors or ISBN containing the typed text (case and accents ignored)."""
    conditions = [Book.search_text.like(contains_pattern(fold(query)), escape="\\")]
    if _ISBN_LIKE.fullmatch(query):  # ISBNs are indexed without hyphens or spaces
        digits = isbn_rules.clean(query).lower()
        conditions.append(Book.search_text.like(contains_pattern(digits), escape="\\"))
    return sa.or_(*conditions)


def books_query(*, text: str | None, stock: str | None, sort: str,
                low_stock_threshold: int) -> sa.Select:
    """The staff's book list: books whose title, authors or ISBN contain `text`, limited by
    `stock` ("low": for sale and at most `low_stock_threshold` copies, "out": none,
    "inactive": not for sale, else all), in the order `sort` names (a BOOK_SORTS key), with
    their categories loaded."""
    stmt = sa.select(Book).options(selectinload(Book.category))
    if text:
        stmt = stmt.where(_matching(text))
    if stock == "low":
        stmt = stmt.where(Book.stock_on_hand <= low_stock_threshold, Book.is_active.is_(True))
    elif stock == "out":
        stmt = stmt.where(Book.stock_on_hand == 0)
    elif stock == "inactive":
        stmt = stmt.where(Book.is_active.is_(False))
    return stmt.order_by(*BOOK_SORTS[sort])


def low_stock_query(threshold: int) -> sa.Select:
    """Books for sale with at most `threshold` copies, emptiest and best-selling first."""
    return (
        sa.select(Book).options(selectinload(Book.category))
        .where(Book.is_active.is_(True), Book.stock_on_hand <= threshold)
        .order_by(Book.stock_on_hand, Book.sold_count.desc(), Book.id)
    )


def waiting_readers(book_ids: list[int]) -> dict[int, int]:
    """{book id: demands still waiting for it} for the books of `book_ids` that have any."""
    if not book_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Demand.book_id, sa.func.count(Demand.id))
        .where(Demand.book_id.in_(book_ids), Demand.is_waiting)
        .group_by(Demand.book_id)
    ).all())


def category_options() -> list[sa.Row]:
    """(id, name) of every category, in shelf order."""
    return list(db.session.execute(
        sa.select(Category.id, Category.name).order_by(Category.position, Category.name)
    ).all())


def categories_with_counts() -> tuple[list[sa.Row], int]:
    """Every category in shelf order (its names in other languages loaded) with its number of
    books (`books`) and of books for sale (`active`), and the number of books in no category."""
    book_count = sa.func.count(Book.id)
    active_count = sa.func.count(sa.case((Book.is_active.is_(True), Book.id), else_=None))
    rows = db.session.execute(
        sa.select(Category, book_count.label("books"), active_count.label("active"))
        .options(selectinload(Category.translations))
        .outerjoin(Book, Book.category_id == Category.id)
        .group_by(Category.id)
        .order_by(Category.position, Category.name)
    ).all()
    uncategorised = db.session.scalar(
        sa.select(sa.func.count(Book.id)).where(Book.category_id.is_(None))
    )
    return list(rows), uncategorised


def books_in_category(category: Category) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Book.id)).where(Book.category_id == category.id)
    )
