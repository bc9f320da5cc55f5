"""Demand lists: readers say which books they want; the shop sees demand gathered per book.

Members record demand for an out-of-stock book (`record_demand`; asking again updates the open
one) or ask for a book we do not carry (`request_uncatalogued`), which is matched to a catalog
book by ISBN when one is created or edited (`match_requests_for_book`) or linked by staff
(`link_request_to_book`). Visitors leave demand with just an email, confirmed by a link first
(double opt-in: `record_visitor_demand`, `confirm_visitor_demand`); their demand joins their
account when they register (`attach_visitor_demands`).

Staff read `demand_by_book` (aggregate, sortable, filterable, paginated; `demand_csv_rows` for
the export), `uncatalogued_groups` and `conversion`.

Functions flush, never commit, and raise DomainError subclasses with user-safe messages.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.catalog import isbn as isbn_rules
from app.catalog.models import Book
from app.core.db import utcnow
from app.core.errors import DomainError, InvalidInput, NotFound
from app.core.extensions import db
from app.core.paging import PagerMixin
from app.core.text import contains_pattern, fold
from app.core.urls import external_url
from app.demand import holds
from app.demand.models import Demand, DemandStatus, Hold, HoldStatus
from app.mail.outbox import enqueue
from app.membership.models import Member

MAX_QUANTITY = 99
NOTE_MAX_LENGTH = 500
TITLE_MAX_LENGTH = 500
AUTHOR_MAX_LENGTH = 500
ACTIVE = (DemandStatus.OPEN, DemandStatus.NOTIFIED)


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


# --------------------------------------------------------------------------- input rules


def check_quantity(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) \
            or not 1 <= quantity <= MAX_QUANTITY:
        raise DemandFieldError("quantity", _("Please choose a quantity from 1 to %(max)d.",
                                             max=MAX_QUANTITY))
    return quantity


def clean_note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise DemandFieldError("note", _("Your note can be at most %(max)d characters.",
                                         max=NOTE_MAX_LENGTH))
    return note


def _text(field_name: str, value: str | None, limit: int, required: bool) -> str | None:
    text = " ".join((value or "").split()) or None
    if text is None and required:
        raise DemandFieldError(field_name, _("This field is required."))
    if text is not None and len(text) > limit:
        raise DemandFieldError(field_name, _("At most %(max)d characters, please.", max=limit))
    return text


def _wanted_book(book: Book | None) -> Book:
    if book is None or not book.is_active:
        raise NotFound(_("We could not find that book."))
    if book.stock_on_hand > 0:
        raise AlreadyInStock(_("“%(title)s” is in stock: you can order it right now.",
                               title=book.title))
    return book


# --------------------------------------------------------------------------- members


def open_demand(member: Member, book: Book) -> Demand | None:
    return db.session.scalar(
        sa.select(Demand).where(Demand.open_key == f"{member.id}:{book.id}")
    )


def active_hold(member: Member, book: Book) -> Hold | None:
    found = holds.held_for(member.id, book.id)
    return found[0] if found else None


def record_demand(member: Member, book: Book | None, quantity: int = 1,
                  note: str | None = None) -> Demand:
    """The member wants this out-of-stock book. Asking again updates the open demand.

    Raises NotFound (no such book), AlreadyInStock (it can be bought now), DemandFieldError
    (quantity, note), or DuplicateRequest when copies are already held for the member.
    """
    quantity = check_quantity(quantity)
    note = clean_note(note)
    book = _wanted_book(book)
    if active_hold(member, book) is not None:
        raise DuplicateRequest(_("Copies of “%(title)s” are already held for you: see your "
                                 "demand list.", title=book.title))
    existing = open_demand(member, book)
    if existing is not None:
        existing.quantity = quantity
        existing.note = note
        db.session.flush()
        return existing
    demand = Demand(member_id=member.id, book_id=book.id, quantity=quantity, note=note,
                    status=DemandStatus.OPEN, created_at=utcnow())
    demand.open_key = demand.compute_open_key()
    try:
        with db.session.begin_nested():
            db.session.add(demand)
    except IntegrityError:  # the same member asked twice at once: update the winner
        existing = open_demand(member, book)
        if existing is None:
            raise
        existing.quantity, existing.note = quantity, note
        db.session.flush()
        return existing
    return demand


def request_uncatalogued(member: Member, title: str, author: str | None = None,
                         isbn: str | None = None, note: str | None = None,
                         quantity: int = 1) -> Demand:
    """Ask for a book we do not carry. An ISBN we do carry becomes a normal demand.

    Raises DemandFieldError (title, author, isbn, note, quantity), DuplicateRequest when the
    member already asked for the same ISBN or title, AlreadyInStock for a carried book in stock.
    """
    quantity = check_quantity(quantity)
    title = _text("title", title, TITLE_MAX_LENGTH, required=not (isbn or "").strip())
    author = _text("author", author, AUTHOR_MAX_LENGTH, required=False)
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
    return demand


def demand_for_member(member: Member, demand_id: int) -> Demand:
    demand = db.session.get(Demand, demand_id)
    if demand is None or demand.member_id != member.id:
        raise NotFound(_("There is no such entry on your demand list."))
    return demand


def cancel_demand(member: Member, demand_id: int) -> Demand:
    """The member withdraws a demand; held copies pass to the next reader at once."""
    demand = demand_for_member(member, demand_id)
    if demand.book_id is not None:
        holds.lock_book(demand.book_id)
    db.session.refresh(demand)
    if demand.status not in ACTIVE:
        raise DemandClosed(_("This entry is already closed."))
    demand.status = DemandStatus.CANCELLED
    demand.cancelled_at = utcnow()
    demand.open_key = None
    db.session.flush()
    holds.release_for_demand(demand)
    db.session.flush()
    return demand


@dataclass(frozen=True)
class DemandLine:
    demand: Demand
    held: int  # copies held for the member now
    hold_until: datetime | None
    hold_id: int | None


def demands_for_member(member: Member, page: int = 1, per_page: int = 20):
    """The member's demand list, newest first, with what is held for them (a Pagination whose
    items are DemandLine)."""
    stmt = (sa.select(Demand).where(Demand.member_id == member.id)
            .options(joinedload(Demand.book))
            .order_by(Demand.created_at.desc(), Demand.id.desc()))
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    ids = [d.id for d in pagination.items]
    active: dict[int, Hold] = {}
    if ids:
        for hold in db.session.scalars(
            sa.select(Hold).where(Hold.demand_id.in_(ids), Hold.status == HoldStatus.ACTIVE,
                                  Hold.expires_at > utcnow())
        ):
            active[hold.demand_id] = hold
    pagination.items = [
        DemandLine(d, active[d.id].remaining if d.id in active else 0,
                   active[d.id].expires_at if d.id in active else None,
                   active[d.id].id if d.id in active else None)
        for d in pagination.items
    ]
    return pagination


def set_preferences(member: Member, *, stock_alerts: bool, news: bool) -> Member:
    """Turning stock alerts off also undoes arrivals not yet mailed (holds.untell_opted_out)."""
    turned_off = member.stock_alerts_opt_in and not stock_alerts
    member.stock_alerts_opt_in = bool(stock_alerts)
    member.mail_opt_in = bool(news)
    db.session.flush()
    if turned_off:
        holds.untell_opted_out(member.id)
    return member


# --------------------------------------------------------------------------- linking


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
    """Link every open request with this book's ISBN to it (called when staff save a book)."""
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


def link_group(key: str, book: Book) -> int:
    """Link every open request of an uncatalogued group to `book`; returns how many."""
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
    return len(requests)


# --------------------------------------------------------------------------- aggregate

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
        "title": (Book.title_sort,),  # pinyin for Chinese titles (issue 6)
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


# --------------------------------------------------------------------------- visitors


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_visitor_demand(email: str, book: Book | None, quantity: int = 1,
                          note: str | None = None) -> Demand:
    """A visitor (not logged in) leaves demand with an address; a confirmation link is mailed.

    Nothing else is ever sent to the address until it is confirmed. At most one entry per
    address waits for confirmation at a time, and DEMAND_ADDRESS_DAILY_LIMIT entries per
    address per day. Raises InvalidEmail, DemandFieldError, NotFound, AlreadyInStock,
    PendingConfirmation or TooManyRequests.
    """
    from app.membership.members import InvalidEmail, normalise_email

    try:
        address = normalise_email(email)
    except InvalidEmail as exc:
        raise DemandFieldError("email", exc.message) from exc
    quantity = check_quantity(quantity)
    note = clean_note(note)
    book = _wanted_book(book)
    now = utcnow()
    pending = db.session.scalar(
        sa.select(Demand.id).where(Demand.member_id.is_(None), Demand.email == address,
                                   Demand.status == DemandStatus.OPEN,
                                   Demand.confirmed_at.is_(None))
    )
    if pending is not None:
        raise PendingConfirmation(_(
            "We have already sent a confirmation link to %(email)s. Please open it first; "
            "until then we send nothing else to this address.", email=address))
    recent = db.session.scalar(
        sa.select(sa.func.count(Demand.id))
        .where(Demand.member_id.is_(None), Demand.email == address,
               Demand.created_at > now - timedelta(days=1))
    )
    if recent >= current_app.config.get("DEMAND_ADDRESS_DAILY_LIMIT", 5):
        raise TooManyRequests(_("Too many requests for this address today. Please try again "
                                "tomorrow."))
    key = f"e:{address}:{book.id}"
    existing = db.session.scalar(sa.select(Demand).where(Demand.open_key == key))
    if existing is not None:  # confirmed already: just update it, no mail
        existing.quantity, existing.note = quantity, note
        db.session.flush()
        return existing
    token = secrets.token_urlsafe(32)
    demand = Demand(email=address, book_id=book.id, quantity=quantity, note=note,
                    status=DemandStatus.OPEN, open_key=key, created_at=now,
                    confirm_token_hash=_token_hash(token), locale=_request_locale())
    db.session.add(demand)
    db.session.flush()
    hours = current_app.config.get("DEMAND_CONFIRM_HOURS", 48)
    enqueue(
        kind="demand_confirm",
        to_email=address,
        template="demand_confirm",
        context={"shop_name": current_app.config["SHOP_NAME"], "book_title": book.title,
                 "confirm_url": external_url("demand.confirm", token=token),
                 "book_url": external_url("shop.book", book_id=book.id), "hours": hours},
        dedupe_key=f"demand_confirm:{demand.id}",
    )
    return demand


def _request_locale() -> str | None:
    """The language the visitor is reading in, kept for their stock-arrival mail."""
    if not has_request_context():
        return None
    return str(get_locale())


def pending_for_token(token: str) -> Demand:
    """The unconfirmed entry a confirmation link belongs to, or NotFound (unknown, used or
    older than DEMAND_CONFIRM_HOURS)."""
    demand = None
    if token and len(token) <= 100:
        demand = db.session.scalar(
            sa.select(Demand).where(Demand.confirm_token_hash == _token_hash(token))
        )
    hours = current_app.config.get("DEMAND_CONFIRM_HOURS", 48)
    if demand is None or demand.status != DemandStatus.OPEN or demand.confirmed_at is not None \
            or demand.created_at < utcnow() - timedelta(hours=hours):
        raise NotFound(_("This confirmation link is not valid or has expired. You can leave "
                         "your request again on the book's page."))
    return demand


def confirm_visitor_demand(token: str) -> Demand:
    """The visitor opened the link: their demand counts from now on.

    If an account with that address exists, the demand joins it.
    """
    demand = pending_for_token(token)
    demand.confirmed_at = utcnow()
    demand.confirm_token_hash = None
    member = db.session.scalar(
        sa.select(Member).where(sa.func.lower(Member.email) == demand.email)
    )
    if member is not None:
        _join(demand, member)
    db.session.flush()
    return demand


def _join(demand: Demand, member: Member) -> None:
    """Move a confirmed visitor demand onto the member's account (merging with an open one)."""
    if demand.book_id is not None and demand.status == DemandStatus.OPEN:
        existing = db.session.scalar(
            sa.select(Demand).where(Demand.open_key == f"{member.id}:{demand.book_id}")
        )
        if existing is not None:
            existing.quantity = max(existing.quantity, demand.quantity)
            db.session.delete(demand)
            db.session.flush()
            return
        demand.open_key = None
        db.session.flush()
    demand.member_id = member.id
    demand.open_key = demand.compute_open_key()
    db.session.flush()


def attach_visitor_demands(member: Member) -> int:
    """A new member: the demand they left (and confirmed) as a visitor joins their account,
    once the member has proven the address (issue 17: an unproven one would take over the
    demand, note included, of whoever confirmed it)."""
    if member.email_verified_at is None:
        return 0
    demands = db.session.scalars(
        sa.select(Demand).where(Demand.member_id.is_(None),
                                sa.func.lower(Demand.email) == member.email.lower(),
                                Demand.confirmed_at.is_not(None))
        .order_by(Demand.id)
    ).all()
    for demand in demands:
        _join(demand, member)
    return len(demands)


def purge_unconfirmed(now: datetime | None = None) -> int:
    """Delete visitor entries never confirmed within DEMAND_CONFIRM_HOURS; returns how many."""
    now = now or utcnow()
    hours = current_app.config.get("DEMAND_CONFIRM_HOURS", 48)
    result = db.session.execute(
        sa.delete(Demand).where(Demand.member_id.is_(None), Demand.confirmed_at.is_(None),
                                Demand.created_at < now - timedelta(hours=hours))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# --------------------------------------------------------------------------- held copies


def put_held_in_cart(member: Member, hold_id: int) -> Hold:
    """Put the copies held for the member into their cart (checkout then uses the hold).

    The cart's own stock check is skipped on purpose: held copies are not on the shelf.
    """
    from app.ordering.models import Cart, CartLine

    hold = db.session.get(Hold, hold_id)
    if hold is None or hold.demand.member_id != member.id:
        raise NotFound(_("There are no copies held for you under that number."))
    if hold.status != HoldStatus.ACTIVE or hold.remaining <= 0 or hold.expires_at <= utcnow():
        raise DemandClosed(_("This hold has ended."))
    cart = db.session.scalar(sa.select(Cart).where(Cart.member_id == member.id))
    if cart is None:
        cart = Cart(member_id=member.id)
        db.session.add(cart)
        db.session.flush()
    line = db.session.scalar(
        sa.select(CartLine).where(CartLine.cart_id == cart.id, CartLine.book_id == hold.book_id)
    )
    if line is None:
        db.session.add(CartLine(cart_id=cart.id, book_id=hold.book_id, quantity=hold.remaining))
    else:
        line.quantity = min(max(line.quantity, hold.remaining), MAX_QUANTITY)
    db.session.flush()
    return hold
