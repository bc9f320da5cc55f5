"""Paging for lists that are not a Flask-SQLAlchemy `Pagination` (a search result, an
aggregate, the mail catcher's files): the rest of what the pager macro
(templates/_macros/pagination.html) reads, from `page` and `pages`."""

from __future__ import annotations


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
