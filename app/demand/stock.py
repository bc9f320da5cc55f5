"""Stock arrivals: record a receipt, and in the same transaction tell everyone who waited.

`receive_stock` flushes but never commits: the caller's one commit makes the receipt, the new
stock, the holds, the demand statuses and the queued mails visible together, or not at all.
Nothing is sent in the request: the outbox sender delivers after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.catalog import isbn as isbn_rules
from app.catalog.models import Book
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.core.signals import stock_received
from app.demand.allocation import Allocation, allocate, lock_book
from app.demand.models import StockReceipt
from app.membership.models import Member

MAX_RECEIPT_QUANTITY = 100_000
TEXT_LIMITS = {"supplier": 200, "reference": 200, "note": 500}


class ReceiptFieldError(InvalidInput):
    """Input refused for one field of the receipt form; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ReceiptResult:
    receipt: StockReceipt
    notified: int  # readers told
    mails: int  # mails queued
    held: int  # copies held for readers
    shelved: int  # copies put on the shelf
    unserved: int  # readers still waiting


def find_book(reference: str | int) -> Book:
    """A book by id (digits up to 9 long) or ISBN-10/13; NotFound otherwise."""
    text = str(reference).strip()
    book = None
    code = isbn_rules.normalize(text)
    if code is not None:
        book = db.session.scalar(sa.select(Book).where(Book.isbn13 == code))
    if book is None and text.isdecimal() and len(text) <= 9:
        book = db.session.get(Book, int(text))
    if book is None:
        raise NotFound(_("No book has that id or ISBN."))
    return book


def _text(field: str, value: str | None) -> str | None:
    text = " ".join((value or "").split()) or None
    if text is not None and len(text) > TEXT_LIMITS[field]:
        raise ReceiptFieldError(field, _("At most %(max)d characters, please.",
                                         max=TEXT_LIMITS[field]))
    return text


def receive_stock(book_id: int, quantity: int, supplier: str | None = None,
                  reference: str | None = None, note: str | None = None,
                  actor: Member | None = None) -> ReceiptResult:
    """Add received copies of a book and queue one arrival mail per waiting reader.

    Readers are served in the order they asked; their copies are held for DEMAND_HOLD_HOURS
    (see app.demand.allocation). An arrival smaller than DEMAND_MIN_NOTIFY_QUANTITY goes on the
    shelf and tells no one. A receipt by a staff member (`actor`) is in the audit log
    ("stock.receive", with what was held, shelved and told). Raises ReceiptFieldError or
    NotFound; nothing is written then.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ReceiptFieldError("quantity", _("Enter a whole number of copies."))
    if not 1 <= quantity <= MAX_RECEIPT_QUANTITY:
        raise ReceiptFieldError("quantity", _("Enter a number of copies from 1 to %(max)d.",
                                              max=MAX_RECEIPT_QUANTITY))
    texts = {"supplier": _text("supplier", supplier), "reference": _text("reference", reference),
             "note": _text("note", note)}
    if isinstance(book_id, bool) or not isinstance(book_id, int) or not lock_book(book_id):
        raise NotFound(_("No book has that id or ISBN."))
    now = utcnow()
    receipt = StockReceipt(book_id=book_id, quantity=quantity, received_at=now,
                           actor_id=actor.id if actor is not None else None, **texts)
    db.session.add(receipt)
    db.session.flush()

    minimum = int(current_app.config.get("DEMAND_MIN_NOTIFY_QUANTITY", 1))
    if quantity < minimum:
        db.session.execute(
            sa.update(Book).where(Book.id == book_id)
            .values(stock_on_hand=Book.stock_on_hand + quantity)
            .execution_options(synchronize_session=False)
        )
        allocation = Allocation(shelved=quantity)
    else:
        allocation = allocate(
            book_id, quantity, source=str(receipt.id), receipt_id=receipt.id,
            tell_unserved=bool(current_app.config.get("DEMAND_TELL_UNSERVED")), now=now,
        )
    receipt.held_quantity = allocation.held
    receipt.shelved_quantity = allocation.shelved
    receipt.notified_count = len(allocation.notified)
    db.session.flush()
    result = ReceiptResult(receipt=receipt, notified=len(allocation.notified),
                           mails=allocation.mails, held=allocation.held,
                           shelved=allocation.shelved, unserved=len(allocation.unserved))
    book = db.session.get(Book, book_id)
    if actor is not None:
        _audit_receipt(actor, result, book)
    stock_received.send(receipt, book=book, quantity=quantity, held=result.held,
                        shelved=result.shelved, notified=result.notified, actor=actor)
    if book is not None:
        db.session.expire(book)
    return result


def _audit_receipt(actor: Member, result: ReceiptResult, book: Book) -> None:
    receipt = result.receipt
    audit.record(actor.id, actor.email, "stock.receive", receipt,
                 after={"book_id": book.id, "quantity": receipt.quantity,
                        "supplier": receipt.supplier, "reference": receipt.reference,
                        "note": receipt.note, "held": result.held, "shelved": result.shelved,
                        "notified": result.notified, "mails": result.mails},
                 summary=f"{receipt.quantity} × {book.title}")


def recent_receipts(limit: int = 20) -> list[StockReceipt]:
    return list(db.session.scalars(
        sa.select(StockReceipt).order_by(StockReceipt.received_at.desc(), StockReceipt.id.desc())
        .limit(limit)
    ))
