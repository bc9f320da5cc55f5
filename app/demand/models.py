"""Demand: who wants which book, the copies that arrive, and the copies held for them.

A `Demand` is a member's (or a confirmed visitor's) wish to buy a book we cannot sell them
yet. It names a catalog book (`book_id`), or, for a book we do not carry, what the reader
typed (`requested_*`) until staff or an ISBN match link it to a book.

One active demand per reader and book: `open_key` holds "<member_id>:<book_id>" (or
"e:<email>:<book_id>" for a visitor) while the demand is open and NULL otherwise, and a
plain unique index on it enforces the rule on SQLite and PostgreSQL alike (NULLs never clash).

A `StockReceipt` records copies received; a `Hold` keeps some of them aside for one notified
reader for DEMAND_HOLD_HOURS, so the first to read the mail does not take everyone's copies.
Held copies are not on the shelf (`Book.stock_on_hand`) until the hold lapses.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Book
from app.core.db import utcnow
from app.core.extensions import db
from app.membership.models import Member


class DemandStatus(enum.StrEnum):
    OPEN = "open"  # waiting for copies
    NOTIFIED = "notified"  # copies arrived and the reader was told (some may be held)
    FULFILLED = "fulfilled"  # the reader bought the book
    CANCELLED = "cancelled"  # the reader (or an unsubscribe) withdrew it
    EXPIRED = "expired"  # notified, but the hold lapsed without a purchase


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"
    CONSUMED = "consumed"  # the holder bought every held copy
    EXPIRED = "expired"  # lapsed; leftover copies went to the next reader or the shelf
    RELEASED = "released"  # the demand was cancelled; copies passed on at once


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


class Demand(db.Model):
    __table_args__ = (
        sa.CheckConstraint("quantity >= 1 AND quantity <= 99", name="quantity_in_range"),
        sa.CheckConstraint("member_id IS NOT NULL OR email IS NOT NULL", name="has_reader"),
        sa.CheckConstraint(
            "book_id IS NOT NULL OR requested_title IS NOT NULL OR requested_isbn IS NOT NULL",
            name="names_a_book",
        ),
        sa.Index("ix_demand_book_status", "book_id", "status", "created_at"),
        sa.Index("ix_demand_member_status", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"))
    # A visitor's address (members are reached at their account's address).
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    book_id: Mapped[int | None] = mapped_column(sa.ForeignKey("book.id"))
    requested_title: Mapped[str | None] = mapped_column(sa.String(500))
    requested_author: Mapped[str | None] = mapped_column(sa.String(500))
    requested_isbn: Mapped[str | None] = mapped_column(sa.String(13), index=True)  # ISBN-13
    # Folded title (app.core.text.fold) for grouping uncatalogued requests.
    title_key: Mapped[str | None] = mapped_column(sa.String(500), index=True)
    quantity: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[DemandStatus] = mapped_column(_enum(DemandStatus), default=DemandStatus.OPEN)
    open_key: Mapped[str | None] = mapped_column(sa.String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    # Visitors: double opt-in. Nothing but the confirmation mail goes to an unconfirmed address.
    confirm_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    # A visitor's language when they asked: their stock-arrival mail is written in it.
    # Members' mail follows Member.locale instead.
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    # Taken on the phone: the staff member who recorded it, and a visitor caller's name.
    taken_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    caller_name: Mapped[str | None] = mapped_column(sa.String(120))

    member: Mapped[Member | None] = relationship(foreign_keys=[member_id])
    book: Mapped[Book | None] = relationship()

    @hybrid_property
    def is_waiting(self) -> bool:
        """THE definition of a reader waiting: the demand is open and comes from a
        member or from a visitor who confirmed the address; an unconfirmed visitor entry counts
        nowhere. Every count of readers waiting (the demand page, the dashboard, low stock, the
        reorder forecast) uses it; add `book_id IS NOT NULL` for catalogued books."""
        return self.status == DemandStatus.OPEN and (
            self.member_id is not None or self.confirmed_at is not None)

    @is_waiting.inplace.expression
    @classmethod
    def _is_waiting_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.status == DemandStatus.OPEN,
                       sa.or_(cls.member_id.is_not(None), cls.confirmed_at.is_not(None)))

    @property
    def is_visitor(self) -> bool:
        return self.member_id is None

    @property
    def is_pending_confirmation(self) -> bool:
        return self.member_id is None and self.confirmed_at is None

    @property
    def reader_email(self) -> str:
        return self.member.email if self.member is not None else (self.email or "")

    @property
    def display_title(self) -> str:
        if self.book is not None:
            return self.book.title
        return self.requested_title or self.requested_isbn or ""

    def compute_open_key(self) -> str | None:
        """The uniqueness key while open (catalog books only), else None."""
        if self.status != DemandStatus.OPEN or self.book_id is None:
            return None
        if self.member_id is not None:
            return f"{self.member_id}:{self.book_id}"
        return f"e:{(self.email or '').lower()}:{self.book_id}"

    def __repr__(self) -> str:
        return f"<Demand {self.id} book={self.book_id} {self.status}>"


class StockReceipt(db.Model):
    """Copies of a book received from a supplier, and who recorded them."""

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id"), index=True)
    quantity: Mapped[int]
    supplier: Mapped[str | None] = mapped_column(sa.String(200))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id", ondelete="SET NULL"))
    # What the receipt did: copies held for readers, copies put on the shelf, readers told.
    held_quantity: Mapped[int] = mapped_column(default=0)
    shelved_quantity: Mapped[int] = mapped_column(default=0)
    notified_count: Mapped[int] = mapped_column(default=0)

    book: Mapped[Book] = relationship()
    actor: Mapped[Member | None] = relationship()


class Hold(db.Model):
    """Copies kept aside for one notified reader until `expires_at`."""

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_in_range"),
        sa.Index("ix_hold_status_expires", "status", "expires_at"),
        sa.Index("ix_hold_book_status", "book_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"),
                                           index=True)
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id"))
    receipt_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stock_receipt.id", ondelete="SET NULL"))
    quantity: Mapped[int]
    remaining: Mapped[int]
    status: Mapped[HoldStatus] = mapped_column(_enum(HoldStatus), default=HoldStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    demand: Mapped[Demand] = relationship()
    book: Mapped[Book] = relationship()
