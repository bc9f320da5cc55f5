"""Sharing arrived copies fairly: serve waiting readers in order, hold their copies, tell them.

`allocate(book_id, copies, ...)` is the one place copies meet demand. Readers are served in the
order they asked (with DEMAND_PRIORITY_BY_GRADE, higher grades first); each served reader gets
a `Hold` on up to the copies they asked for, for DEMAND_HOLD_HOURS, and one "stock arrived"
mail in the outbox (app.demand.arrival_mail). Members who turned stock alerts off (or whose
account is deactivated) are not served: nothing is held for them, they are not told, and their
demand stays open. Copies nobody waits for go on the shelf (`Book.stock_on_hand`). With
DEMAND_HOLD_HOURS = 0 nothing is held: every waiting reader is told and the copies are shelved.
How holds end, and what checkout does with them, is app.demand.holds.

Lock order, on every path that changes demands or holds: the book row first (`lock_book`, a
no-op UPDATE, which also serialises SQLite writers), then demands, then holds. Everything
flushes, nothing commits.

Set-based: the holds, the demand updates and the outbox rows of one arrival are written with
bulk statements (app.core.bulk), not one ORM round trip per reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.catalog.models import Book
from app.core.bulk import bulk_insert, id_chunks, id_in
from app.core.db import utcnow
from app.core.extensions import db
from app.demand.arrival_mail import ArrivalMails
from app.demand.models import Demand, DemandStatus, Hold, HoldStatus
from app.grades.models import Tier
from app.membership.models import Member


@dataclass
class Allocation:
    """What one allocation did."""

    notified: list[int] = field(default_factory=list)  # demand ids told copies are in
    unserved: list[int] = field(default_factory=list)  # demand ids still waiting
    held: int = 0
    shelved: int = 0
    mails: int = 0


def lock_book(book_id: int) -> bool:
    """Take the book's row lock (PostgreSQL) / the write lock (SQLite). False if no such book."""
    result = db.session.execute(
        sa.update(Book).where(Book.id == book_id)
        .values(stock_on_hand=Book.stock_on_hand)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _waiting(book_id: int) -> list[sa.Row]:
    """Open, confirmed demands of readers who want stock alerts, in serving order, locked
    on PostgreSQL."""
    stmt = (
        sa.select(Demand.id, Demand.member_id, Demand.email, Demand.quantity,
                  Member.email.label("member_email"), Member.name.label("member_name"),
                  Member.stock_alerts_opt_in, Member.is_active_account,
                  # the member's saved language, or the one a visitor asked in
                  sa.func.coalesce(Member.locale, Demand.locale).label("member_locale"))
        .outerjoin(Member, Demand.member_id == Member.id)
        .where(Demand.book_id == book_id, Demand.status == DemandStatus.OPEN,
               # members with a working account who want stock alerts (a reader who turned
               # them off gets no hold and is not told: their demand stays open); visitors
               # once they confirmed their address
               sa.or_(sa.and_(Demand.member_id.is_not(None), Member.is_active_account,
                              Member.stock_alerts_opt_in),
                      sa.and_(Demand.member_id.is_(None), Demand.confirmed_at.is_not(None))))
    )
    if current_app.config.get("DEMAND_PRIORITY_BY_GRADE"):
        stmt = stmt.outerjoin(Tier, Tier.code == Member.tier_code).order_by(
            sa.func.coalesce(Tier.position, -1).desc())
    stmt = stmt.order_by(Demand.created_at, Demand.id)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Demand)
    return list(db.session.execute(stmt))


def allocate(book_id: int, copies: int, *, source: str, receipt_id: int | None = None,
             tell_unserved: bool = False, now: datetime | None = None) -> Allocation:
    """Share `copies` new copies of a book among its waiting readers (see module doc).

    The caller has locked the book (`lock_book`). `source` makes the mail dedupe keys unique
    per event (the receipt id, or "h<id>" for a lapsed hold), so an event never mails a reader
    twice for one demand.
    """
    now = now or utcnow()
    result = Allocation()
    if copies <= 0:
        return result
    book = db.session.get(Book, book_id, populate_existing=True)
    hold_hours = int(current_app.config.get("DEMAND_HOLD_HOURS", 48))
    rows = _waiting(book_id)
    remaining = copies
    served: list[tuple[sa.Row, int]] = []
    for row in rows:
        if hold_hours <= 0:
            served.append((row, 0))
        elif remaining > 0:
            take = min(row.quantity, remaining)
            served.append((row, take))
            remaining -= take
        else:
            result.unserved.append(row.id)
    result.held = copies - remaining if hold_hours > 0 else 0
    result.shelved = remaining if hold_hours > 0 else copies
    expires = now + timedelta(hours=hold_hours)

    if result.held:
        bulk_insert(Hold.__table__, [
            {"demand_id": row.id, "book_id": book_id, "receipt_id": receipt_id,
             "quantity": take, "remaining": take, "status": HoldStatus.ACTIVE,
             "created_at": now, "expires_at": expires, "closed_at": None}
            for row, take in served if take > 0
        ])
    ids = [row.id for row, _ in served]
    for chunk in id_chunks(ids):
        db.session.execute(
            sa.update(Demand).where(id_in(Demand.id, chunk))
            .values(status=DemandStatus.NOTIFIED, notified_at=now, open_key=None)
            .execution_options(synchronize_session=False)
        )
    if result.shelved:
        db.session.execute(
            sa.update(Book).where(Book.id == book_id)
            .values(stock_on_hand=Book.stock_on_hand + result.shelved)
            .execution_options(synchronize_session=False)
        )
    result.notified = ids
    on_shelf = book.stock_on_hand + result.shelved
    mails = ArrivalMails(book, on_shelf=on_shelf,
                         hold_until=expires if hold_hours > 0 else None, now=now)
    for row, take in served:
        mails.add(row, "stock_arrived", f"stock_arrived:{row.id}:{source}", held=take)
    if tell_unserved and result.unserved:
        by_id = {row.id: row for row in rows}
        for demand_id in result.unserved:
            mails.add(by_id[demand_id], "stock_short", f"stock_short:{demand_id}:{source}",
                      held=0)
    result.mails = mails.queue()
    db.session.flush()
    db.session.expire(book)
    return result
