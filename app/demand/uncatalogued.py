"""Requests for books we do not carry: asked for by title or ISBN, then linked to a catalog book.

A member asks for a book by title, author and/or ISBN (`request_uncatalogued`); an ISBN we
carry becomes a normal demand at once. A request is linked to a book (it becomes a demand for
it: `link_request_to_book`) when a book with its ISBN is saved (`match_requests_for_book`,
connected to the `book_saved` signal) or when staff link a group of requests
(`uncatalogued_groups`, `link_group`). Linking merges with the reader's open demand for that
book, if any.

Functions flush, never commit, and raise the DomainErrors of app.demand.rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.catalog import isbn as isbn_rules
from app.catalog.models import Book
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.extensions import db
from app.core.signals import demand_created
from app.core.text import fold
from app.demand.lists import record_demand
from app.demand.models import Demand, DemandStatus
from app.demand.rules import (
    AUTHOR_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    DemandClosed,
    DemandFieldError,
    DuplicateRequest,
    check_quantity,
    clean_note,
    clean_text,
)
from app.membership.models import Member


def request_uncatalogued(member: Member, title: str, author: str | None = None,
                         isbn: str | None = None, note: str | None = None,
                         quantity: int = 1) -> Demand:
    """Ask for a book we do not carry. An ISBN we do carry becomes a normal demand.

    Raises DemandFieldError (title, author, isbn, note, quantity), DuplicateRequest when the
    member already asked for the same ISBN or title, AlreadyInStock for a carried book in stock.
    """
    quantity = check_quantity(quantity)
    title = clean_text("title", title, TITLE_MAX_LENGTH, required=not (isbn or "").strip())
    author = clean_text("author", author, AUTHOR_MAX_LENGTH, required=False)
    note = clean_note(note)
    code = None
    if (isbn or "").strip():
        code = isbn_rules.normalize(isbn or "")
        if code is None:
            raise DemandFieldError("isbn", _("This is not a valid ISBN-10 or ISBN-13."))
        book = db.session.scalar(sa.select(Book).where(Book.isbn13 == code))
        if book is not None and book.is_active:
            return record_demand(member, book, quantity, note)
    key = fold(title) if title else None
    same = [Demand.requested_isbn == code] if code else [Demand.title_key == key]
    duplicate = db.session.scalar(
        sa.select(Demand.id).where(Demand.member_id == member.id, Demand.book_id.is_(None),
                                   Demand.status == DemandStatus.OPEN, sa.or_(*same))
    )
    if duplicate is not None:
        raise DuplicateRequest(_("You have already asked for this book; it is on your demand "
                                 "list."))
    demand = Demand(member_id=member.id, requested_title=title, requested_author=author,
                    requested_isbn=code, title_key=key, quantity=quantity, note=note,
                    status=DemandStatus.OPEN, created_at=utcnow())
    db.session.add(demand)
    db.session.flush()
    demand_created.send(demand)
    return demand


def link_request_to_book(request_demand: Demand, book: Book) -> Demand:
    """A request for an uncatalogued book becomes a demand for `book`.

    If the reader already has an open demand for that book, the two merge (the larger
    quantity is kept) and the request is removed. Returns the demand that remains.
    """
    if request_demand.book_id is not None or request_demand.status != DemandStatus.OPEN:
        raise DemandClosed(_("This request is already linked or closed."))
    request_demand.book_id = book.id
    key = request_demand.compute_open_key()
    existing = db.session.scalar(sa.select(Demand).where(Demand.open_key == key)) if key else None
    if existing is not None:
        existing.quantity = max(existing.quantity, request_demand.quantity)
        existing.note = existing.note or request_demand.note
        db.session.delete(request_demand)
        db.session.flush()
        return existing
    request_demand.open_key = key
    db.session.flush()
    return request_demand


def match_requests_for_book(book: Book) -> int:
    """Link every open request with this book's ISBN to it; returns how many. Runs when a
    book is saved (`on_book_saved`)."""
    if not book.isbn13:
        return 0
    requests = db.session.scalars(
        sa.select(Demand).where(Demand.book_id.is_(None), Demand.status == DemandStatus.OPEN,
                                Demand.requested_isbn == book.isbn13)
        .order_by(Demand.id)
    ).all()
    for request_demand in requests:
        link_request_to_book(request_demand, book)
    return len(requests)


@dataclass(frozen=True)
class RequestGroup:
    key: str  # "isbn:<13 digits>" or "title:<folded title>"
    isbn: str | None
    title: str
    author: str | None
    readers: int
    quantity: int
    oldest: datetime
    notes: list[str] = field(default_factory=list)


def uncatalogued_groups(limit: int = 200) -> list[RequestGroup]:
    """Open requests for books we do not carry, grouped by ISBN (else folded title)."""
    rows = db.session.execute(
        sa.select(Demand.requested_isbn, Demand.title_key, Demand.requested_title,
                  Demand.requested_author, Demand.quantity, Demand.created_at, Demand.note)
        .where(Demand.book_id.is_(None), Demand.is_waiting)
        .order_by(Demand.created_at)
    ).all()
    groups: dict[str, dict] = {}
    for row in rows:
        key = f"isbn:{row.requested_isbn}" if row.requested_isbn else f"title:{row.title_key}"
        group = groups.setdefault(key, {"isbn": row.requested_isbn, "title": None,
                                        "author": None, "readers": 0, "quantity": 0,
                                        "oldest": row.created_at, "notes": []})
        group["title"] = group["title"] or row.requested_title
        group["author"] = group["author"] or row.requested_author
        group["readers"] += 1
        group["quantity"] += row.quantity
        if row.note and len(group["notes"]) < 5:
            group["notes"].append(row.note)
    result = [RequestGroup(key=k, title=v["title"] or v["isbn"] or "", **{
        n: v[n] for n in ("isbn", "author", "readers", "quantity", "oldest", "notes")})
        for k, v in groups.items()]
    result.sort(key=lambda g: (-g.readers, g.oldest))
    return result[:limit]


def link_group(key: str, book: Book, actor: Member | None = None) -> int:
    """Link every open request of an uncatalogued group to `book`; returns how many. Done by a
    staff member (`actor`), it is in the audit log ("demand.link_requests"). Raises NotFound
    for a group with no open request."""
    kind, _sep, value = (key or "").partition(":")
    if kind == "isbn" and value:
        condition = Demand.requested_isbn == value
    elif kind == "title" and value:
        condition = sa.and_(Demand.requested_isbn.is_(None), Demand.title_key == value)
    else:
        raise NotFound(_("There is no such group of requests."))
    requests = db.session.scalars(
        sa.select(Demand).where(Demand.book_id.is_(None), Demand.status == DemandStatus.OPEN,
                                condition).order_by(Demand.id)
    ).all()
    if not requests:
        raise NotFound(_("There is no such group of requests."))
    for request_demand in requests:
        link_request_to_book(request_demand, book)
    if actor is not None:
        audit.record(actor.id, actor.email, "demand.link_requests", book,
                     after={"group": key, "requests": len(requests)},
                     summary=f"{len(requests)} request(s) → {book.title}")
    return len(requests)


def on_book_saved(book: Book, **_signal) -> None:
    """Receiver of `book_saved` (app.core.signals), connected in app.demand.init_app."""
    match_requests_for_book(book)
