"""What an unsubscribe link does, and the send-time checks of the demand mails.

A stock-arrival mail carries a signed, expiring token (app.demand.tokens) in a link and in the
`List-Unsubscribe` header. A member's token turns off their stock alerts (undoing arrivals not
yet mailed: app.demand.holds.untell_opted_out); a visitor's token cancels the demand they left
with their address (app.demand.cancelling). A campaign mail carries a news token (same link,
same headers): it turns off the member's news and offers (`mail_opt_in`). None of them needs a
login: the signed token is the proof.

`register_send_checks()` tells the outbox sender to re-check, at send time, that the reader
still wants the mail: a member who opted out, or a demand cancelled since the mail was queued,
cancels it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.db import utcnow
from app.core.extensions import db
from app.demand import holds
from app.demand.cancelling import ACTIVE, cancel_demand
from app.demand.models import Demand, DemandStatus
from app.demand.tokens import InvalidUnsubscribeToken, Target, read_token
from app.mail import send_checks
from app.membership.models import Member


def describe(target: Target) -> str:
    """The address the token belongs to (shown on the confirmation page)."""
    if target.member_id is not None:
        member = db.session.get(Member, target.member_id)
        if member is None:
            raise InvalidUnsubscribeToken(_("This unsubscribe link is not valid."))
        return member.email
    return target.email or ""


def unsubscribe(token: str) -> Target:
    """Stop the mail the token is for: a campaign token stops the member's news and offers, a
    member's stock-alert token their stock alerts, a visitor's their demands. Flushes only;
    idempotent."""
    target = read_token(token)
    now = utcnow()
    if target.member_id is not None:
        member = db.session.get(Member, target.member_id)
        if member is None:
            raise InvalidUnsubscribeToken(_("This unsubscribe link is not valid."))
        if target.news:
            member.mail_opt_in = False
        elif member.stock_alerts_opt_in:
            member.stock_alerts_opt_in = False
            db.session.flush()
            holds.untell_opted_out(member.id, now)
    else:
        _cancel_visitor_demands(target.email, now)
    db.session.flush()
    return target


def _cancel_visitor_demands(email: str, now) -> None:
    """Cancel a visitor's open and notified demands, book by book (the lock order); copies
    held for them pass on at once."""
    found = db.session.scalars(
        sa.select(Demand)
        .where(Demand.member_id.is_(None), sa.func.lower(Demand.email) == email,
               Demand.status.in_(ACTIVE))
        .order_by(Demand.book_id, Demand.id)
    ).all()
    for demand in found:
        cancel_demand(demand, now)


# --------------------------------------------------------------------------- send checks


def _demand_id(row) -> int | None:
    """The demand a demand mail is about, from its dedupe key "<kind>:<demand_id>:..."."""
    parts = (row.dedupe_key or "").split(":")
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return None


def _states(rows) -> dict[int, sa.Row]:
    """The demands behind a batch of queued mails and their readers' opt-ins: one query per
    2,000 demands (a sender's batch is far smaller)."""
    ids = sorted({d for d in (_demand_id(row) for row in rows) if d is not None})
    states: dict[int, sa.Row] = {}
    for start in range(0, len(ids), 2000):
        for state in db.session.execute(
            sa.select(Demand.id, Demand.status, Demand.member_id, Demand.confirmed_at,
                      Demand.confirm_token_hash, Member.stock_alerts_opt_in,
                      Member.is_active_account)
            .outerjoin(Member, Demand.member_id == Member.id)
            .where(Demand.id.in_(ids[start:start + 2000]))
        ):
            states[state.id] = state
    return states


def _reader_wants_alerts(state: sa.Row) -> bool:
    if state.member_id is not None:
        return bool(state.stock_alerts_opt_in and state.is_active_account)
    return state.confirmed_at is not None


def _arrival_wanted(state: sa.Row) -> bool:
    """Still notified (not cancelled, expired or already bought) and the reader opted in."""
    return state.status == DemandStatus.NOTIFIED and _reader_wants_alerts(state)


def _short_wanted(state: sa.Row) -> bool:
    """Still waiting, and the reader opted in."""
    return state.status == DemandStatus.OPEN and _reader_wants_alerts(state)


def _confirmation_wanted(state: sa.Row) -> bool:
    """The visitor's entry still waits for confirmation (not purged or cancelled)."""
    return (state.status == DemandStatus.OPEN and state.confirmed_at is None
            and state.confirm_token_hash is not None)


def _batch_check(rule):
    def check(rows) -> set[int]:
        states = _states(rows)
        wanted = set()
        for row in rows:
            state = states.get(_demand_id(row))
            if state is not None and rule(state):
                wanted.add(row.id)
        return wanted

    check.__doc__ = rule.__doc__
    return check


stock_arrived_wanted = _batch_check(_arrival_wanted)
stock_short_wanted = _batch_check(_short_wanted)
confirmation_wanted = _batch_check(_confirmation_wanted)


def register_send_checks() -> None:
    """The sender re-checks a whole batch of demand mails with one query per kind."""
    send_checks.register_batch_send_check("stock_arrived", stock_arrived_wanted)
    send_checks.register_batch_send_check("stock_short", stock_short_wanted)
    send_checks.register_batch_send_check("demand_confirm", confirmation_wanted)
