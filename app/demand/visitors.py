"""Visitors' demand: an address instead of an account, confirmed by a link first.

A visitor (not logged in) leaves demand with an email address (`record_visitor_demand`);
nothing but the confirmation mail goes to the address until its link is opened
(`pending_for_token`, `confirm_visitor_demand`: double opt-in). Unconfirmed entries are
forgotten after DEMAND_CONFIRM_HOURS (`purge_unconfirmed`). A confirmed visitor's demand joins
the account of that address: at confirmation if the account exists, else when a member proves
the address (`attach_visitor_demands`, connected to the `member_joined` signal).

Functions flush, never commit, and raise the DomainErrors of app.demand.rules.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import gettext as _

from app.catalog.models import Book
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.extensions import db
from app.core.i18n import locale_name
from app.core.signals import demand_created
from app.core.urls import external_url
from app.demand.models import Demand, DemandStatus
from app.demand.rules import (
    DemandFieldError,
    PendingConfirmation,
    TooManyRequests,
    check_quantity,
    clean_note,
    wanted_book,
)
from app.mail.outbox import enqueue
from app.membership.members import InvalidEmail, normalise_email
from app.membership.models import Member


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CALLER_NAME_MAX = 120


def record_visitor_demand(email: str, book: Book | None, quantity: int = 1,
                          note: str | None = None, *, caller_name: str | None = None,
                          taken_by: Member | None = None,
                          locale: str | None = None) -> Demand:
    """A visitor (not logged in) leaves demand with an address; a confirmation link is mailed.

    Taken on the phone for a caller who is not a member, `taken_by` names the staff member,
    `caller_name` the caller and `locale` their language (the confirmation mail's and the
    arrival mail's): the same double opt-in, so the address is confirmed by its owner.

    Nothing else is ever sent to the address until it is confirmed. At most one entry per
    address waits for confirmation at a time, and DEMAND_ADDRESS_DAILY_LIMIT entries per
    address per day. Raises InvalidEmail, DemandFieldError, NotFound, AlreadyInStock,
    PendingConfirmation or TooManyRequests.
    """
    try:
        address = normalise_email(email)
    except InvalidEmail as exc:
        raise DemandFieldError("email", exc.message) from exc
    quantity = check_quantity(quantity)
    note = clean_note(note)
    caller_name = " ".join((caller_name or "").split()) or None
    if caller_name is not None and len(caller_name) > CALLER_NAME_MAX:
        raise DemandFieldError("caller_name", _("The name is too long."))
    book = wanted_book(book)
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
                    confirm_token_hash=_token_hash(token),
                    locale=locale or _request_locale(), caller_name=caller_name,
                    taken_by_id=taken_by.id if taken_by is not None else None)
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
        locale=demand.locale,
    )
    return demand


def _request_locale() -> str | None:
    """The language the visitor is reading in, kept for their stock-arrival mail."""
    if not has_request_context():
        return None
    return locale_name()


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
    if not sa.inspect(demand).deleted:  # merged into the member's open demand: not new
        demand_created.send(demand)
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
    once the member has proven the address (an unproven one would take over the demand, note
    included, of whoever confirmed it)."""
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


def on_member_joined(member: Member, **_signal) -> None:
    """Receiver of `member_joined` (app.core.signals), connected in app.demand.init_app."""
    attach_visitor_demands(member)
