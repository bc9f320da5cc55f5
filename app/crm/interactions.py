"""The interaction log: staff note each contact with a customer, with an optional
follow-up date, and close follow-ups when done. Every change is audited. Flushes, never commits.

`follow_ups_due(on, staff=None)` is what the dashboard shows: open follow-ups due on or before
`on` (overdue ones included), oldest first.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError, InvalidInput, NotFound
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.crm.models import Interaction, InteractionKind
from app.membership.models import Member

BODY_MAX_LENGTH = 4000
FOLLOW_UPS_LIMIT = 500

KIND_LABELS = {
    InteractionKind.PHONE: _l("Phone call"),
    InteractionKind.EMAIL: _l("Email"),
    InteractionKind.VISIT: _l("Visit"),
    InteractionKind.COMPLAINT: _l("Complaint"),
    InteractionKind.COMPLIMENT: _l("Compliment"),
    InteractionKind.OTHER: _l("Other"),
}

AUDIT_FIELDS = ("kind", "body", "follow_up_on", "follow_up_done_at")


class FollowUpClosed(DomainError):
    pass


def kind_label(kind: InteractionKind | str) -> str:
    return str(KIND_LABELS.get(InteractionKind(kind), kind))


def add_interaction(member: Member, staff: Member, kind: InteractionKind | str, body: str,
                    follow_up_on: date | None = None) -> Interaction:
    """Note a contact with `member`. Raises InvalidInput for an unknown kind or empty text."""
    if member.erased_at is not None:
        raise InvalidInput(_("This account was erased on request; it cannot be changed."))
    try:
        kind = InteractionKind(kind)
    except ValueError:
        raise InvalidInput(_("Choose what kind of contact this was.")) from None
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("Write what was said or done."))
    if len(body) > BODY_MAX_LENGTH:
        raise InvalidInput(_("That is too long (at most %(max)d characters).",
                             max=BODY_MAX_LENGTH))
    interaction = Interaction(member_id=member.id, staff_id=staff.id, kind=kind, body=body,
                              created_at=utcnow(), follow_up_on=follow_up_on)
    db.session.add(interaction)
    db.session.flush()
    audit.record(staff.id, staff.email, "customer.interaction", member,
                 after={"interaction_id": interaction.id,
                        **audit.snapshot(interaction, AUDIT_FIELDS)},
                 summary=f"{kind.value} noted" + (f", follow up on {follow_up_on.isoformat()}"
                                                  if follow_up_on else ""))
    return interaction


def interaction_for(member: Member, interaction_id: int) -> Interaction:
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None or interaction.member_id != member.id:
        raise NotFound(_("There is no such note for this customer."))
    return interaction


def complete_follow_up(interaction: Interaction, staff: Member) -> Interaction:
    """Mark the follow-up of `interaction` done (once: a second click gets FollowUpClosed)."""
    if interaction.follow_up_on is None:
        raise FollowUpClosed(_("This note has no follow-up."))
    now = utcnow()
    # Conditional UPDATE: two people closing it at once record one completion.
    result = db.session.execute(
        sa.update(Interaction)
        .where(Interaction.id == interaction.id, Interaction.follow_up_done_at.is_(None))
        .values(follow_up_done_at=now, follow_up_done_by_id=staff.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(interaction)
    if result.rowcount != 1:
        raise FollowUpClosed(_("This follow-up was already marked done."))
    audit.record(staff.id, staff.email, "customer.follow_up_done",
                 target_type="member", target_id=interaction.member_id,
                 before={"follow_up_done_at": None},
                 after={"follow_up_done_at": now, "interaction_id": interaction.id},
                 summary=f"Follow-up of note {interaction.id} done")
    return interaction


def follow_ups_due(on: date, staff: Member | None = None) -> list[Interaction]:
    """Open follow-ups due on or before `on`, oldest first (at most 500), with the customer
    and the note's author loaded. With `staff`, only the notes that person wrote."""
    return _open_follow_ups(Interaction.follow_up_on.is_not(None),
                            Interaction.follow_up_on <= on, staff=staff,
                            limit=FOLLOW_UPS_LIMIT)


def follow_ups_upcoming(after: date, staff: Member | None = None, limit: int = 100
                        ) -> list[Interaction]:
    """Open follow-ups due after `after` (the next ones), soonest first."""
    return _open_follow_ups(Interaction.follow_up_on > after, staff=staff, limit=limit)


def _open_follow_ups(*due: sa.ColumnElement[bool], staff: Member | None,
                     limit: int) -> list[Interaction]:
    """Follow-ups not done yet whose date meets `due`, soonest first, with the customer and
    the note's author loaded; with `staff`, only the notes that person wrote."""
    stmt = (
        sa.select(Interaction)
        .where(*due, Interaction.follow_up_done_at.is_(None))
        .options(joinedload(Interaction.member), joinedload(Interaction.staff))
        .order_by(Interaction.follow_up_on, Interaction.id)
        .limit(limit)
    )
    if staff is not None:
        stmt = stmt.where(Interaction.staff_id == staff.id)
    return list(db.session.scalars(stmt))
