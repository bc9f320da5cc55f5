"""Catalog editing rules for staff: creating and changing books and categories.

Every function flushes but never commits (the admin view commits once), and checks its input
again even though the forms did: a form is not the last line of defence. Errors carry the name
of the field they belong to, so a view can show the message beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from app.catalog import isbn as isbn_rules
from app.catalog.browse import refresh_search_text
from app.catalog.models import Book, Category
from app.core.errors import DomainError, InvalidInput
from app.core.extensions import db
from app.core.money import CENT
from app.core.signals import book_saved

MAX_PRICE = Decimal("100000")
MAX_STOCK = 100_000
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

_BOOK_LIMITS = {"title": 500, "authors": 500, "language": 16, "publisher": 200,
                "description": 20000}
_CATEGORY_LIMITS = {"slug": 80, "name": 120, "description": 500}


class FieldError(InvalidInput):
    """Input refused for one field; `field` names it (the form field of the same name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class DuplicateIsbn(FieldError):
    def __init__(self, message: str) -> None:
        super().__init__("isbn", message)


class DuplicateSlug(FieldError):
    def __init__(self, message: str) -> None:
        super().__init__("slug", message)


class CategoryNotEmpty(DomainError):
    pass


@dataclass(frozen=True)
class BookInput:
    """What staff may set on a book. `isbn` is as typed (10 or 13 digits, hyphens allowed)."""

    title: str
    authors: str
    price: Decimal
    stock_on_hand: int
    year: int | None = None
    isbn: str | None = None
    language: str | None = None
    publisher: str | None = None
    description: str | None = None
    category_id: int | None = None
    is_active: bool = True


@dataclass(frozen=True)
class CategoryInput:
    slug: str
    name: str
    description: str | None = None
    position: int = 0


# --------------------------------------------------------------------------- books


def _text(field: str, value: str | None, *, required: bool, limit: int) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise FieldError(field, _("This field is required."))
        return None
    if len(text) > limit:
        raise FieldError(field, _("At most %(max)d characters, please.", max=limit))
    return text


def _checked_book(data: BookInput, book_id: int | None) -> dict:
    """Validated column values for a book, or FieldError for the first bad field."""
    values: dict = {
        field: _text(field, getattr(data, field), required=field in {"title", "authors"},
                     limit=limit)
        for field, limit in _BOOK_LIMITS.items()
    }
    price = data.price
    if not isinstance(price, Decimal) or not price.is_finite():
        raise FieldError("price", _("Enter an amount such as 12.50."))
    if not Decimal("0") <= price <= MAX_PRICE:
        raise FieldError("price", _("The price must be between 0 and %(max)s.", max=MAX_PRICE))
    if price != price.quantize(CENT):
        raise FieldError("price", _("Use at most two decimals, e.g. 12.50."))
    values["price"] = price.quantize(CENT)

    if isinstance(data.stock_on_hand, bool) or not isinstance(data.stock_on_hand, int):
        raise FieldError("stock_on_hand", _("Enter a whole number of copies."))
    if not 0 <= data.stock_on_hand <= MAX_STOCK:
        raise FieldError("stock_on_hand",
                         _("Stock must be between 0 and %(max)d.", max=MAX_STOCK))
    values["stock_on_hand"] = data.stock_on_hand

    if data.year is not None and not -3000 <= data.year <= 2100:
        raise FieldError("year", _("Enter a year from -3000 to 2100."))
    values["year"] = data.year

    values["isbn13"], values["isbn10"] = _checked_isbn(data.isbn, book_id)

    if data.category_id is not None and db.session.get(Category, data.category_id) is None:
        raise FieldError("category_id", _("Choose a category from the list."))
    values["category_id"] = data.category_id
    values["is_active"] = bool(data.is_active)
    return values


def _checked_isbn(typed: str | None, book_id: int | None) -> tuple[str | None, str | None]:
    """(isbn13, isbn10) for a typed ISBN, refusing invalid ones and ones another book has."""
    if not (typed or "").strip():
        return None, None
    isbn13 = isbn_rules.normalize(typed or "")
    if isbn13 is None:
        raise FieldError("isbn", _("This is not a valid ISBN-10 or ISBN-13."))
    clash = db.session.scalar(
        sa.select(Book.id).where(Book.isbn13 == isbn13, Book.id != (book_id or 0))
    )
    if clash is not None:
        raise DuplicateIsbn(_("Another book (no. %(id)d) already has this ISBN.", id=clash))
    return isbn13, isbn_rules.to_isbn10(isbn13)


def _flush_book() -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two staff saved the same ISBN at once: the unique index decides.
        raise DuplicateIsbn(_("Another book already has this ISBN.")) from exc


def create_book(data: BookInput) -> Book:
    """A new book with a fresh search text. Raises FieldError (DuplicateIsbn for a taken ISBN)."""
    book = Book(**_checked_book(data, None))
    refresh_search_text(book)
    db.session.add(book)
    _flush_book()
    book_saved.send(book)  # requests for its ISBN become demand for it (app.demand)
    return book


def update_book(book: Book, data: BookInput) -> Book:
    """Change a book; nothing is changed unless every field is acceptable.

    The search text is rebuilt whenever the title, authors, ISBN or year changed.
    """
    values = _checked_book(data, book.id)
    searchable = ("title", "authors", "isbn13", "isbn10", "year")
    changed_search = any(getattr(book, key) != values[key] for key in searchable)
    for key, value in values.items():
        setattr(book, key, value)
    if changed_search:
        refresh_search_text(book)
    _flush_book()
    book_saved.send(book)  # requests for its ISBN become demand for it (app.demand)
    return book


# --------------------------------------------------------------------------- categories


def _checked_category(data: CategoryInput, category_id: int | None) -> dict:
    values = {
        field: _text(field, getattr(data, field), required=field != "description", limit=limit)
        for field, limit in _CATEGORY_LIMITS.items()
    }
    if not SLUG_RE.fullmatch(values["slug"]):
        raise FieldError("slug", _("Use lowercase letters, digits and single hyphens, "
                                   "like science-fiction."))
    clash = db.session.scalar(
        sa.select(Category.id).where(Category.slug == values["slug"],
                                     Category.id != (category_id or 0))
    )
    if clash is not None:
        raise DuplicateSlug(_("Another category already uses this slug."))
    if isinstance(data.position, bool) or not isinstance(data.position, int) \
            or not 0 <= data.position <= 10_000:
        raise FieldError("position", _("Enter a position from 0 to 10000."))
    values["position"] = data.position
    return values


def _flush_category() -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise DuplicateSlug(_("Another category already uses this slug.")) from exc


def create_category(data: CategoryInput) -> Category:
    category = Category(**_checked_category(data, None))
    db.session.add(category)
    _flush_category()
    return category


def update_category(category: Category, data: CategoryInput) -> Category:
    for key, value in _checked_category(data, category.id).items():
        setattr(category, key, value)
    _flush_category()
    return category


def delete_category(category: Category) -> None:
    """Remove an empty category; one that still holds books is refused (CategoryNotEmpty)."""
    count = db.session.scalar(
        sa.select(sa.func.count(Book.id)).where(Book.category_id == category.id)
    )
    if count:
        raise CategoryNotEmpty(
            ngettext(
                "“%(name)s” still holds %(num)d book; move it to another category first.",
                "“%(name)s” still holds %(num)d books; move them to another category first.",
                count,
                name=category.name,
            )
        )
    db.session.delete(category)
    db.session.flush()
