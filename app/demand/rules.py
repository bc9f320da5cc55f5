"""What a demand may say, and the errors of the demand services.

Shared by members' demand (app.demand.lists), requests for books we do not carry
(app.demand.uncatalogued) and visitors' demand (app.demand.visitors); the forms check the same
limits for shape, these functions are the last word. Every error is a DomainError with a
user-safe message; a `DemandFieldError` names the form field it belongs to.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.catalog.models import Book
from app.core.errors import DomainError, InvalidInput, NotFound

MAX_QUANTITY = 99
NOTE_MAX_LENGTH = 500
TITLE_MAX_LENGTH = 500
AUTHOR_MAX_LENGTH = 500


class DemandFieldError(InvalidInput):
    """Input refused for one field; `field` names the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AlreadyInStock(DomainError):
    pass


class DuplicateRequest(DomainError):
    pass


class PendingConfirmation(DomainError):
    pass


class TooManyRequests(DomainError):
    pass


class DemandClosed(DomainError):
    pass


def check_quantity(quantity: object) -> int:
    """Copies wanted: an int from 1 to MAX_QUANTITY, else DemandFieldError("quantity")."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) \
            or not 1 <= quantity <= MAX_QUANTITY:
        raise DemandFieldError("quantity", _("Please choose a quantity from 1 to %(max)d.",
                                             max=MAX_QUANTITY))
    return quantity


def clean_note(note: str | None) -> str | None:
    """The reader's note, stripped (None when empty); DemandFieldError("note") if too long."""
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise DemandFieldError("note", _("Your note can be at most %(max)d characters.",
                                         max=NOTE_MAX_LENGTH))
    return note


def clean_text(field_name: str, value: str | None, limit: int, required: bool) -> str | None:
    """A one-line text with its whitespace collapsed (None when empty); DemandFieldError
    for `field_name` if required and empty, or longer than `limit`."""
    text = " ".join((value or "").split()) or None
    if text is None and required:
        raise DemandFieldError(field_name, _("This field is required."))
    if text is not None and len(text) > limit:
        raise DemandFieldError(field_name, _("At most %(max)d characters, please.", max=limit))
    return text


def wanted_book(book: Book | None) -> Book:
    """A book a reader may ask to be told about: NotFound if there is no such active book,
    AlreadyInStock if it can be bought now."""
    if book is None or not book.is_active:
        raise NotFound(_("We could not find that book."))
    if book.stock_on_hand > 0:
        raise AlreadyInStock(_("“%(title)s” is in stock: you can order it right now.",
                               title=book.title))
    return book
