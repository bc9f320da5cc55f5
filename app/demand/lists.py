"""The member's demand list: which out-of-stock books they wait for, and their mail choices.

A member records demand for an out-of-stock book (`record_demand`; asking again updates the
open one: one open demand per member and book, kept by `Demand.open_key`), reads their list
with what is held for them (`demands_for_member`), withdraws an entry (`cancel_demand`) and
chooses which mail they get (`set_preferences`). Requests for books we do not carry are
app.demand.uncatalogued's; a visitor's demand is app.demand.visitors'.

Functions flush, never commit, and raise the DomainErrors of app.demand.rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.catalog.models import Book
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.extensions import db
from app.core.signals import demand_created
from app.demand import cancelling, holds
from app.demand.models import Demand, DemandStatus, Hold, HoldStatus
from app.demand.rules import (
    DemandClosed,
    DuplicateRequest,
    check_quantity,
    clean_note,
    wanted_book,
)
from app.membership.models import Member


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
    book = wanted_book(book)
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
    demand_created.send(demand)
    return demand


def demand_for_member(member: Member, demand_id: int) -> Demand:
    demand = db.session.get(Demand, demand_id)
    if demand is None or demand.member_id != member.id:
        raise NotFound(_("There is no such entry on your demand list."))
    return demand


def cancel_demand(member: Member, demand_id: int) -> Demand:
    """The member withdraws a demand (app.demand.cancelling); held copies pass to the next
    reader at once. NotFound if it is not theirs, DemandClosed if it is closed already."""
    demand = demand_for_member(member, demand_id)
    if not cancelling.cancel_demand(demand):
        raise DemandClosed(_("This entry is already closed."))
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
