"""The life of a hold once copies are allocated (app.demand.allocation): checkout uses it, or
it lapses, or its demand is cancelled.

A hold ends when its holder buys (`take_held`, called by checkout), when it lapses
(`expire_holds`, run by `flask demand expire-holds` and on every pass of the mail sender), or
when the demand is cancelled (`release_for_demand`, app.demand.cancelling); leftover copies
then go to the next reader in line, who is told in turn, or back on the shelf. A member who
turns stock alerts off undoes the arrivals not yet mailed (`untell_opted_out`).

Checkout asks which copies are held for a member (`has_held_copies`, `books_held_for`,
`held_for`), uses them (`take_held`) and fulfils the demands it served (`fulfil_demands`).

Lock order as in app.demand.allocation: the book row first, then demands, then holds.
Everything flushes, nothing commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.catalog.models import Book
from app.core.bulk import id_chunks, id_in
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.extensions import db
from app.demand.allocation import allocate, lock_book
from app.demand.models import Demand, DemandStatus, Hold, HoldStatus
from app.demand.rules import DemandClosed
from app.mail.models import MailStatus, OutboxMail
from app.membership.models import Member

# --------------------------------------------------------------------------- holds end


def _close(hold_id: int, status: HoldStatus, now: datetime) -> tuple[int, int, int] | None:
    """Close an active hold; (book_id, leftover copies, demand_id), or None if not active."""
    done = db.session.execute(
        sa.update(Hold).where(Hold.id == hold_id, Hold.status == HoldStatus.ACTIVE)
        .values(status=status, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return None
    row = db.session.execute(
        sa.select(Hold.book_id, Hold.remaining, Hold.demand_id).where(Hold.id == hold_id)
    ).one()
    return row.book_id, row.remaining, row.demand_id


def expire_holds(now: datetime | None = None, limit: int = 500) -> int:
    """Close holds that have lapsed and pass their copies on. Returns how many lapsed.

    The demand of a lapsed hold becomes expired (its reader was told and did not buy); the
    copies go to the next readers in line (who are told) or back on the shelf. Lapsed holds
    are handled per book, books in ascending id (the lock order): one UPDATE closes all of a
    book's lapsed holds and one allocation shares their copies, so 10,000 holds lapsing at
    once (a big arrival nobody bought) cost a few statements per book, not per hold.
    """
    now = now or utcnow()
    due = db.session.execute(
        sa.select(Hold.id, Hold.book_id)
        .where(Hold.status == HoldStatus.ACTIVE, Hold.expires_at <= now)
        .order_by(Hold.expires_at, Hold.id).limit(limit)
    ).all()
    by_book: dict[int, list[int]] = {}
    for hold_id, book_id in due:
        by_book.setdefault(book_id, []).append(hold_id)
    count = 0
    for book_id in sorted(by_book):
        lock_book(book_id)
        closed = []
        for chunk in id_chunks(by_book[book_id]):
            closed += db.session.execute(
                sa.update(Hold)
                .where(id_in(Hold.id, chunk), Hold.status == HoldStatus.ACTIVE)
                .values(status=HoldStatus.EXPIRED, closed_at=now)
                .returning(Hold.id, Hold.remaining, Hold.demand_id)
                .execution_options(synchronize_session=False)
            ).all()
        if not closed:
            continue  # a checkout or another sender got there first
        count += len(closed)
        for chunk in id_chunks(sorted({row.demand_id for row in closed})):
            db.session.execute(
                sa.update(Demand)
                .where(id_in(Demand.id, chunk), Demand.status == DemandStatus.NOTIFIED)
                .values(status=DemandStatus.EXPIRED, expired_at=now)
                .execution_options(synchronize_session=False)
            )
        leftover = sum(row.remaining for row in closed)
        if leftover:
            # The smallest closed hold id names this event in the mails' dedupe keys.
            allocate(book_id, leftover, source=f"h{min(row.id for row in closed)}", now=now)
    db.session.flush()
    return count


def release_for_demand(demand: Demand, now: datetime | None = None) -> int:
    """A cancelled demand gives its held copies to the next reader at once. Returns copies."""
    now = now or utcnow()
    released = 0
    hold_ids = db.session.scalars(
        sa.select(Hold.id).where(Hold.demand_id == demand.id, Hold.status == HoldStatus.ACTIVE)
    ).all()
    for hold_id in hold_ids:
        closed = _close(hold_id, HoldStatus.RELEASED, now)
        if closed is None:
            continue
        book_id, leftover, _ = closed
        released += leftover
        if leftover:
            allocate(book_id, leftover, source=f"h{hold_id}", now=now)
    return released


def untell_opted_out(member_id: int, now: datetime | None = None) -> int:
    """A member turned stock alerts off: arrivals whose mail had not left yet are undone, as if
    they had been off at the arrival. The demand is open again (not notified, so out of the
    conversion figures) and held copies pass to the next reader at once; the queued mail is
    cancelled by its send-time check. An arrival already mailed stands: the reader knows, and
    the hold runs its course. Returns how many demands were reopened."""
    now = now or utcnow()
    sent = (sa.select(OutboxMail.id)
            .where(OutboxMail.kind == "stock_arrived", OutboxMail.status == MailStatus.SENT,
                   OutboxMail.dedupe_key.like(
                       sa.literal("stock_arrived:") + sa.cast(Demand.id, sa.String) + ":%")))
    found = db.session.execute(
        sa.select(Demand.id, Demand.book_id)
        .where(Demand.member_id == member_id, Demand.status == DemandStatus.NOTIFIED,
               Demand.book_id.is_not(None), ~sent.exists())
        .order_by(Demand.book_id, Demand.id)
    ).all()
    reopened = 0
    for demand_id, book_id in found:
        lock_book(book_id)
        key = f"{member_id}:{book_id}"
        taken = db.session.scalar(sa.select(Demand.id).where(Demand.open_key == key))
        done = db.session.execute(
            sa.update(Demand).where(Demand.id == demand_id,
                                    Demand.status == DemandStatus.NOTIFIED)
            .values(status=DemandStatus.OPEN, notified_at=None,
                    open_key=None if taken is not None else key)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            continue
        reopened += 1
        release_for_demand(db.session.get(Demand, demand_id), now)
    db.session.flush()
    return reopened


# --------------------------------------------------------------------------- checkout


def held_for(member_id: int, book_id: int, now: datetime | None = None) -> list[Hold]:
    """The member's active holds on a book, soonest to lapse first."""
    now = now or utcnow()
    return list(db.session.scalars(
        sa.select(Hold).join(Demand, Hold.demand_id == Demand.id)
        .where(Demand.member_id == member_id, Hold.book_id == book_id,
               Hold.status == HoldStatus.ACTIVE, Hold.remaining > 0, Hold.expires_at > now)
        .order_by(Hold.expires_at, Hold.id)
    ))


def usable_hold(member: Member, hold_id: int, now: datetime | None = None) -> Hold:
    """The member's hold with this id, if copies can still be taken from it: NotFound if it is
    not theirs, DemandClosed if it ended, lapsed or has no copies left."""
    hold = db.session.get(Hold, hold_id)
    if hold is None or hold.demand.member_id != member.id:
        raise NotFound(_("There are no copies held for you under that number."))
    if hold.status != HoldStatus.ACTIVE or hold.remaining <= 0 \
            or hold.expires_at <= (now or utcnow()):
        raise DemandClosed(_("This hold has ended."))
    return hold


def _active_holds(member_id, book_id, now, column=Hold.id) -> sa.Select:
    """`column` of the member's active holds on the book(s): `book_id` is one id, a column,
    or a list of ids."""
    book = Hold.book_id.in_(book_id) if isinstance(book_id, list) else Hold.book_id == book_id
    return (sa.select(column).join(Demand, Hold.demand_id == Demand.id)
            .where(Demand.member_id == member_id, book,
                   Hold.status == HoldStatus.ACTIVE, Hold.remaining > 0, Hold.expires_at > now))


def has_held_copies(member_id, book_id_column, now) -> sa.Exists:
    """Whether copies of the book (a column) are held for the member (a value or a bound
    parameter) at `now` (likewise), as a column of a query: checkout reads it with the cart,
    so a cart with no held copies (nearly every one) costs no look-up per book."""
    return _active_holds(member_id, book_id_column, now).exists()


def books_held_for(member_id: int, book_ids: list[int], now: datetime | None = None) -> set[int]:
    """Which of these books have copies held for the member now (one query)."""
    if not book_ids:
        return set()
    return set(db.session.scalars(
        _active_holds(member_id, list(book_ids), now or utcnow(), Hold.book_id).distinct()))


def take_held(member: Member, book_id: int, quantity: int) -> int:
    """Use up to `quantity` of the member's held copies of a book; returns how many were used.

    Called by checkout.reserve_stock for each book in its (ascending) lock order; the held
    copies count as sold. Conditional updates: a hold that lapsed or was used meanwhile is
    skipped and the copies come from the shelf instead.
    """
    now = utcnow()
    ids = db.session.scalars(
        _active_holds(member.id, book_id, now).order_by(Hold.expires_at, Hold.id)
    ).all()
    if not ids:
        return 0
    lock_book(book_id)
    taken = 0
    for hold_id in ids:
        if taken >= quantity:
            break
        remaining = db.session.scalar(
            sa.select(Hold.remaining).where(Hold.id == hold_id,
                                            Hold.status == HoldStatus.ACTIVE)
        )
        if not remaining:
            continue
        use = min(remaining, quantity - taken)
        left = remaining - use
        done = db.session.execute(
            sa.update(Hold)
            .where(Hold.id == hold_id, Hold.status == HoldStatus.ACTIVE,
                   Hold.remaining == remaining)
            .values(remaining=left,
                    status=HoldStatus.CONSUMED if left == 0 else HoldStatus.ACTIVE,
                    closed_at=now if left == 0 else None)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            taken += use
    if taken:
        db.session.execute(
            sa.update(Book).where(Book.id == book_id)
            .values(sold_count=Book.sold_count + taken)
            .execution_options(synchronize_session=False)
        )
    return taken


_DEMAND = Demand.__table__
# Built once, on the table: it runs in every checkout, inside the write lock (see checkout).
_FULFIL = (
    sa.update(_DEMAND)
    .where(_DEMAND.c.member_id == sa.bindparam("b_member_id"),
           _DEMAND.c.book_id.in_(sa.bindparam("b_book_ids", expanding=True)),
           _DEMAND.c.status.in_([DemandStatus.NOTIFIED, DemandStatus.OPEN]))
    .values(status=DemandStatus.FULFILLED, open_key=None,
            fulfilled_at=sa.bindparam("b_now", type_=_DEMAND.c.fulfilled_at.type))
)


def fulfil_demands(member: Member, book_ids: list[int], now: datetime | None = None) -> int:
    """The member bought these books: their notified (or still open) demands are fulfilled.

    Demand objects already loaded in the session are not refreshed (a checkout loads none)."""
    if not book_ids:
        return 0
    result = db.session.execute(
        _FULFIL, {"b_member_id": member.id, "b_book_ids": list(book_ids), "b_now": now or utcnow()})
    return result.rowcount
