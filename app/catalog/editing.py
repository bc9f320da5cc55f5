"""Catalog editing rules for staff: creating and changing books and categories.

Every function flushes but never commits (the request commits once), and checks its input
again even though the forms did: a form is not the last line of defence. Errors carry the name
of the field they belong to, so a view can show the message beside it.

Every change is written to the audit log in the same transaction, by the staff member given as
`actor` ("book.create", "book.update", "category.create", "category.update",
"category.delete"; no actor: the system). A refused change writes no entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from app.catalog import isbn as isbn_rules
from app.catalog.browse import refresh_search_text
from app.catalog.models import ALT_TITLE_KINDS, Book, BookAltTitle, Category, CategoryName
from app.catalog.staff_lists import books_in_category
from app.core.audit import record as audit
from app.core.errors import DomainError, InvalidInput
from app.core.extensions import db
from app.core.i18n import LANGUAGE_NAMES
from app.core.money import CENT
from app.core.signals import book_saved
from app.membership.models import Member

MAX_PRICE = Decimal("100000")
MAX_STOCK = 100_000
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

_BOOK_LIMITS = {"title": 500, "authors": 500, "language": 16, "publisher": 200,
                "description": 20000}
_CATEGORY_LIMITS = {"slug": 80, "name": 120, "description": 500}

# The fields an audit entry shows before and after a change.
BOOK_FIELDS = ("title", "authors", "year", "isbn13", "isbn10", "language", "publisher",
               "description", "price", "stock_on_hand", "category_id", "is_active",
               "alt_title_pairs")
MAX_ALT_TITLES = 30
CATEGORY_FIELDS = ("slug", "name", "description", "position", "names", "descriptions")
# The languages a category is named in besides English (its `name`, which is the fallback).
TRANSLATED_LOCALES = tuple(code for code in LANGUAGE_NAMES if code != "en")


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
    # (kind, text) pairs, kind one of ALT_TITLE_KINDS; None leaves a book's as they are.
    alt_titles: Sequence[tuple[str, str]] | None = None


@dataclass(frozen=True)
class CategoryInput:
    """`names`: {locale: name} in the other languages (TRANSLATED_LOCALES); an empty or
    missing one shows the English name there. None (the default) leaves them, and their
    descriptions, as they are. `descriptions`: {locale: description}, likewise, for a language
    given a name."""

    slug: str
    name: str
    description: str | None = None
    position: int = 0
    names: Mapping[str, str] | None = None
    descriptions: Mapping[str, str] | None = None


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


def _checked_alt_titles(pairs: Sequence[tuple[str, str]] | None
                        ) -> list[tuple[str, str]] | None:
    """The alternative titles without empty ones and repeats, in the order given; FieldError
    ("alt_titles") for an unknown kind, a text too long or too many of them."""
    if pairs is None:
        return None
    checked: list[tuple[str, str]] = []
    for kind, typed in pairs:
        if kind not in ALT_TITLE_KINDS:
            raise FieldError("alt_titles", _("Choose a kind of title from the list."))
        text = _text("alt_titles", typed, required=False, limit=_BOOK_LIMITS["title"])
        if text and (kind, text) not in checked:
            checked.append((kind, text))
    if len(checked) > MAX_ALT_TITLES:
        raise FieldError("alt_titles", _("At most %(max)d other titles and names, please.",
                                         max=MAX_ALT_TITLES))
    return checked


def _set_alt_titles(book: Book, pairs: list[tuple[str, str]] | None) -> bool:
    """Make the book's alternative titles exactly `pairs` (None: leave them); whether they
    changed."""
    if pairs is None or book.alt_title_pairs == [list(p) for p in pairs]:
        return False
    book.alt_titles = [BookAltTitle(kind=kind, title=text) for kind, text in pairs]
    return True


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


@contextmanager
def _written(duplicate: Callable[[], FieldError]) -> Iterator[None]:
    """Make the changes of the block and write them in a savepoint; the unique index's refusal
    (two staff saving the same ISBN or slug at once) becomes `duplicate()`. A refused write
    leaves the session usable, so the form can be shown again (the request rolls back)."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as exc:
        raise duplicate() from exc


def _duplicate_isbn() -> FieldError:
    return DuplicateIsbn(_("Another book already has this ISBN."))


def _duplicate_slug() -> FieldError:
    return DuplicateSlug(_("Another category already uses this slug."))


def _record(actor: Member | None, action: str, target: object = None, **details) -> None:
    audit.record(actor.id if actor else None, actor.email if actor else None, action, target,
                 **details)


def create_book(data: BookInput, actor: Member | None = None) -> Book:
    """A new book with a fresh search text, audited as "book.create". Raises FieldError
    (DuplicateIsbn for a taken ISBN)."""
    alt_titles = _checked_alt_titles(data.alt_titles)
    book = Book(**_checked_book(data, None))
    book.alt_titles = []
    _set_alt_titles(book, alt_titles)
    refresh_search_text(book)
    with _written(_duplicate_isbn):
        db.session.add(book)
    book_saved.send(book)  # requests for its ISBN become demand for it (app.demand)
    _record(actor, "book.create", book, after=audit.snapshot(book, BOOK_FIELDS),
            summary=f"Added “{book.title}”")
    return book


def update_book(book: Book, data: BookInput, actor: Member | None = None) -> Book:
    """Change a book; nothing is changed unless every field is acceptable. Audited as
    "book.update" with the fields that changed (no entry when nothing did).

    The search text is rebuilt whenever the title, authors, ISBN, year or alternative titles
    changed.
    """
    before = audit.snapshot(book, BOOK_FIELDS)
    values = _checked_book(data, book.id)
    alt_titles = _checked_alt_titles(data.alt_titles)
    searchable = ("title", "authors", "isbn13", "isbn10", "year")
    changed_search = any(getattr(book, key) != values[key] for key in searchable)
    with _written(_duplicate_isbn):
        for key, value in values.items():
            setattr(book, key, value)
        changed_search = _set_alt_titles(book, alt_titles) or changed_search
        if changed_search:
            refresh_search_text(book)
    book_saved.send(book)  # requests for its ISBN become demand for it (app.demand)
    _record(actor, "book.update", book, before=before, after=audit.snapshot(book, BOOK_FIELDS),
            summary=f"Edited “{book.title}”")
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


def _checked_names(data: CategoryInput) -> dict[str, tuple[str, str | None]] | None:
    """{locale: (name, description or None)} of the languages given a name; FieldError
    ("name_<locale>", "description_<locale>") for a text too long, a description without a
    name, or a language the shop does not speak. None when `data.names` is None."""
    if data.names is None:
        return None
    descriptions = data.descriptions or {}
    checked = {}
    for locale in {*data.names, *descriptions}:
        if locale not in TRANSLATED_LOCALES:
            raise FieldError("name", _("The shop has no language “%(code)s”.", code=locale))
        name = _text(f"name_{locale}", data.names.get(locale), required=False,
                     limit=_CATEGORY_LIMITS["name"])
        description = _text(f"description_{locale}", descriptions.get(locale),
                            required=False, limit=_CATEGORY_LIMITS["description"])
        if description and not name:
            raise FieldError(f"name_{locale}", _("Give the name in this language too, or "
                                                 "leave its description empty."))
        if name:
            checked[locale] = (name, description)
    return checked


def _set_names(category: Category, names: dict[str, tuple[str, str | None]] | None) -> None:
    """Make the category's translations exactly `names` (rows updated in place, added or
    removed), for the languages the shop speaks; None changes nothing."""
    if names is None:
        return
    kept = {t.locale: t for t in category.translations}
    for locale in TRANSLATED_LOCALES:
        given = names.get(locale)
        row = kept.get(locale)
        if given and row is not None:
            row.name, row.description = given
        elif given:
            category.translations.append(
                CategoryName(locale=locale, name=given[0], description=given[1]))
        elif row is not None:
            category.translations.remove(row)


def create_category(data: CategoryInput, actor: Member | None = None) -> Category:
    """A new category with its names in the other languages, audited as "category.create".
    Raises FieldError (DuplicateSlug)."""
    names = _checked_names(data)
    category = Category(**_checked_category(data, None))
    category.translations = []
    _set_names(category, names)
    with _written(_duplicate_slug):
        db.session.add(category)
    _record(actor, "category.create", category,
            after=audit.snapshot(category, CATEGORY_FIELDS),
            summary=f"Created category “{category.name}”")
    return category


def update_category(category: Category, data: CategoryInput,
                    actor: Member | None = None) -> Category:
    """Change a category, audited as "category.update" (no entry when nothing changed)."""
    before = audit.snapshot(category, CATEGORY_FIELDS)
    values = _checked_category(data, category.id)
    names = _checked_names(data)
    with _written(_duplicate_slug):
        for key, value in values.items():
            setattr(category, key, value)
        _set_names(category, names)
    _record(actor, "category.update", category, before=before,
            after=audit.snapshot(category, CATEGORY_FIELDS),
            summary=f"Edited category “{category.name}”")
    return category


def delete_category(category: Category, actor: Member | None = None) -> None:
    """Remove an empty category, audited as "category.delete"; one that still holds books is
    refused (CategoryNotEmpty)."""
    count = books_in_category(category)
    if count:
        raise CategoryNotEmpty(
            ngettext(
                "“%(name)s” still holds %(num)d book; move it to another category first.",
                "“%(name)s” still holds %(num)d books; move them to another category first.",
                count,
                name=category.name,
            )
        )
    category_id, name = category.id, category.name
    before = audit.snapshot(category, CATEGORY_FIELDS)
    db.session.delete(category)
    db.session.flush()
    _record(actor, "category.delete", target_type="category", target_id=category_id,
            before=before, summary=f"Deleted category “{name}”")
