"""Paging for lists that are not a Flask-SQLAlchemy `Pagination` (a search result, an
aggregate, the mail catcher's files): the rest of what the pager macro
(templates/_macros/pagination.html) reads, from `page` and `pages`; and a page with its count
in one query (`paginate_counted`)."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db


class PagerMixin:
    """Give a class with `page` and `pages` the pager's `has_prev`, `has_next`, `prev_num`
    and `next_num`, with Flask-SQLAlchemy's meaning (None past either end)."""

    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


class CountedPage(PagerMixin):
    """A page of rows and the total, as Flask-SQLAlchemy's `Pagination` shows them."""

    def __init__(self, items: list, total: int, page: int, per_page: int) -> None:
        self.items, self.total, self.page, self.per_page = items, total, page, per_page

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page) if self.total else 0


def paginate_counted(stmt: sa.Select, page: int, per_page: int) -> CountedPage:
    """One page of an ORM select and the number of rows it matches, in one query (a window
    count) instead of Flask-SQLAlchemy's two. For searches that match few rows through an
    index: the database then finds the matches once, not twice. Not for an unfiltered list,
    where the count over every row must finish before the first row of the page."""
    page = max(page, 1)
    rows = db.session.execute(
        stmt.add_columns(sa.func.count().over().label("matched"))
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    if rows:
        return CountedPage([row[0] for row in rows], rows[0].matched, page, per_page)
    total = 0
    if page > 1:  # past the last page: the total is still wanted for the pager
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    return CountedPage([], total, page, per_page)
