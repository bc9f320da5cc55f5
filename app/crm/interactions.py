"""The interaction log: staff note each contact with a customer, with an optional
follow-up date, and close follow-ups when done. Every change is audited. Flushes, never commits.

A follow-up is a task: it has an assignee (any staff member; by default the note's author), a
due date (`follow_up_on`), a priority and an optional note saying what to do. Tasks are
reassigned (`update_task`), done (`complete_follow_up`) and reopened (`reopen_task`); "my
tasks" and "team tasks" are `open_tasks(assignee=...)`. The author of a note may edit it
(`edit_note`) or delete it (`delete_note`): the audit entry, on the customer, keeps the old
text (and the customer's erasure scrubs it, app.crm.erasure).

`follow_ups_due(on, staff=None)` is what the dashboard shows: open follow-ups due on or before
`on` (overdue ones included), oldest first; with `staff`, those assigned to them.
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
from app.crm.models import Interaction, InteractionKind, TaskPriority
from app.membership.models import Member, Role

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

PRIORITY_LABELS = {
    TaskPriority.HIGH: _l("High"),
    TaskPriority.NORMAL: _l("Normal"),
    TaskPriority.LOW: _l("Low"),
}
TASK_NOTE_MAX_LENGTH = 500

AUDIT_FIELDS = ("kind", "body", "follow_up_on", "follow_up_done_at", "assignee_id",
                "priority", "task_note")
TASK_FIELDS = ("follow_up_on", "assignee_id", "priority", "task_note")


class FollowUpClosed(DomainError):
    pass


class NotYourNote(DomainError):
    pass


def kind_label(kind: InteractionKind | str) -> str:
    return str(KIND_LABELS.get(InteractionKind(kind), kind))


def priority_label(priority: TaskPriority | str) -> str:
    return str(PRIORITY_LABELS.get(TaskPriority(priority), priority))


def staff_members() -> list[Member]:
    """Everyone a task may be assigned to (staff and admins, accounts in use), by name."""
    return list(db.session.scalars(
        sa.select(Member).where(Member.role.in_((Role.STAFF, Role.ADMIN)),
                                Member.is_active_account.is_(True),
                                Member.erased_at.is_(None))
        .order_by(Member.name, Member.id)))


def _checked_body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("Write what was said or done."))
    if len(body) > BODY_MAX_LENGTH:
        raise InvalidInput(_("That is too long (at most %(max)d characters).",
                             max=BODY_MAX_LENGTH))
    return body


def _task_values(assignee_id: int | None, priority: TaskPriority | str | None,
                 task_note: str | None) -> tuple[int | None, TaskPriority, str | None]:
    try:
        priority = TaskPriority(priority or TaskPriority.NORMAL)
    except ValueError:
        raise InvalidInput(_("Choose a priority.")) from None
    task_note = (task_note or "").strip() or None
    if task_note is not None and len(task_note) > TASK_NOTE_MAX_LENGTH:
        raise InvalidInput(_("That is too long (at most %(max)d characters).",
                             max=TASK_NOTE_MAX_LENGTH))
    if assignee_id is not None:
        assignee = db.session.get(Member, assignee_id)
        if assignee is None or not assignee.is_staff or not assignee.is_active_account:
            raise InvalidInput(_("A task can only be assigned to a member of staff."))
    return assignee_id, priority, task_note


def add_interaction(member: Member, staff: Member, kind: InteractionKind | str, body: str,
                    follow_up_on: date | None = None, *, assignee_id: int | None = None,
                    priority: TaskPriority | str | None = None,
                    task_note: str | None = None) -> Interaction:
    """Note a contact with `member`; with `follow_up_on`, a task for `assignee_id` (default:
    the author). Raises InvalidInput for an unknown kind, empty text, a bad priority or an
    assignee who is not staff."""
    if member.erased_at is not None:
        raise InvalidInput(_("This account was erased on request; it cannot be changed."))
    try:
        kind = InteractionKind(kind)
    except ValueError:
        raise InvalidInput(_("Choose what kind of contact this was.")) from None
    body = _checked_body(body)
    if follow_up_on is not None and assignee_id is None:
        assignee_id = staff.id
    assignee_id, priority, task_note = _task_values(assignee_id, priority, task_note)
    if follow_up_on is None:  # no task: nothing to assign
        assignee_id, task_note = None, None
    interaction = Interaction(member_id=member.id, staff_id=staff.id, kind=kind, body=body,
                              created_at=utcnow(), follow_up_on=follow_up_on,
                              assignee_id=assignee_id, priority=priority, task_note=task_note)
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


def reopen_task(interaction: Interaction, staff: Member) -> Interaction:
    """Open a done task again (once: a second click gets FollowUpClosed)."""
    if interaction.follow_up_on is None:
        raise FollowUpClosed(_("This note has no follow-up."))
    before = interaction.follow_up_done_at
    result = db.session.execute(
        sa.update(Interaction)
        .where(Interaction.id == interaction.id, Interaction.follow_up_done_at.is_not(None))
        .values(follow_up_done_at=None, follow_up_done_by_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(interaction)
    if result.rowcount != 1:
        raise FollowUpClosed(_("This task is open already."))
    audit.record(staff.id, staff.email, "customer.task_reopened",
                 target_type="member", target_id=interaction.member_id,
                 before={"follow_up_done_at": before},
                 after={"follow_up_done_at": None, "interaction_id": interaction.id},
                 summary=f"Task of note {interaction.id} reopened")
    return interaction


def update_task(interaction: Interaction, staff: Member, *, due_on: date | None,
                assignee_id: int | None, priority: TaskPriority | str | None,
                task_note: str | None) -> Interaction:
    """Set a note's task: its due date (None: no task any more), assignee, priority and what
    to do. Any staff member may; audited with the values before and after."""
    if interaction.member.erased_at is not None:
        raise InvalidInput(_("This account was erased on request; it cannot be changed."))
    if due_on is not None and assignee_id is None:
        assignee_id = staff.id
    assignee_id, priority, task_note = _task_values(assignee_id, priority, task_note)
    if due_on is None:
        assignee_id, task_note = None, None
    before = audit.snapshot(interaction, TASK_FIELDS)
    interaction.follow_up_on = due_on
    interaction.assignee_id = assignee_id
    interaction.priority = priority
    interaction.task_note = task_note
    db.session.flush()
    audit.record(staff.id, staff.email, "customer.task", target_type="member",
                 target_id=interaction.member_id,
                 before=before, after=audit.snapshot(interaction, TASK_FIELDS),
                 summary=f"Task of note {interaction.id} set")
    return interaction


def _own_note(interaction: Interaction, staff: Member) -> None:
    if interaction.staff_id != staff.id:
        raise NotYourNote(_("Only the author of a note may change or delete it."))
    if interaction.member.erased_at is not None:
        raise InvalidInput(_("This account was erased on request; it cannot be changed."))


def edit_note(interaction: Interaction, staff: Member, body: str) -> Interaction:
    """The author corrects their note. The audit entry (on the customer) keeps the old text."""
    _own_note(interaction, staff)
    body = _checked_body(body)
    before = {"body": interaction.body}
    if body == interaction.body:
        return interaction
    interaction.body = body
    interaction.edited_at = utcnow()
    db.session.flush()
    audit.record(staff.id, staff.email, "customer.note_edited", target_type="member",
                 target_id=interaction.member_id, before=before,
                 after={"body": body, "interaction_id": interaction.id},
                 summary=f"Note {interaction.id} edited")
    return interaction


def delete_note(interaction: Interaction, staff: Member) -> None:
    """The author deletes their note (and its task). The audit entry, on the customer, keeps
    what it said, until the customer's erasure scrubs it."""
    _own_note(interaction, staff)
    before = {"interaction_id": interaction.id, **audit.snapshot(interaction, AUDIT_FIELDS)}
    member_id = interaction.member_id
    db.session.delete(interaction)
    db.session.flush()
    audit.record(staff.id, staff.email, "customer.note_deleted", target_type="member",
                 target_id=member_id, before=before, after=None,
                 summary=f"Note {before['interaction_id']} deleted")


TASKS_LIMIT = 500
# High first, then normal, then low (the column holds the words).
_PRIORITY_RANK = sa.case({TaskPriority.HIGH: 0, TaskPriority.NORMAL: 1},
                         value=Interaction.priority, else_=2)


def open_tasks(assignee: Member | None = None, *, assignee_id: int | None = None,
               limit: int = TASKS_LIMIT) -> list[Interaction]:
    """Open tasks, the most urgent first (overdue and due soonest, then high priority), with
    the customer, author and assignee loaded: `assignee`'s ("my tasks"), or with none the
    whole team's (optionally one member's, `assignee_id`)."""
    who = assignee.id if assignee is not None else assignee_id
    stmt = (
        sa.select(Interaction)
        .where(Interaction.follow_up_on.is_not(None), Interaction.follow_up_done_at.is_(None))
        .options(joinedload(Interaction.member), joinedload(Interaction.staff),
                 joinedload(Interaction.assignee))
        .order_by(Interaction.follow_up_on, _PRIORITY_RANK, Interaction.id)
        .limit(limit)
    )
    if who is not None:
        stmt = stmt.where(Interaction.assignee_id == who)
    return list(db.session.scalars(stmt))


def done_tasks(assignee: Member | None = None, limit: int = 50) -> list[Interaction]:
    """The latest tasks done (to reopen one), newest first."""
    stmt = (
        sa.select(Interaction)
        .where(Interaction.follow_up_on.is_not(None), Interaction.follow_up_done_at.is_not(None))
        .options(joinedload(Interaction.member), joinedload(Interaction.assignee),
                 joinedload(Interaction.follow_up_done_by))
        .order_by(Interaction.follow_up_done_at.desc(), Interaction.id.desc()).limit(limit)
    )
    if assignee is not None:
        stmt = stmt.where(Interaction.assignee_id == assignee.id)
    return list(db.session.scalars(stmt))


def follow_ups_due(on: date, staff: Member | None = None) -> list[Interaction]:
    """Open follow-ups due on or before `on`, oldest first (at most 500), with the customer
    and the note's author loaded. With `staff`, only the tasks assigned to that person."""
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
    the note's author loaded; with `staff`, only the tasks assigned to that person."""
    stmt = (
        sa.select(Interaction)
        .where(*due, Interaction.follow_up_done_at.is_(None))
        .options(joinedload(Interaction.member), joinedload(Interaction.staff),
                 joinedload(Interaction.assignee))
        .order_by(Interaction.follow_up_on, Interaction.id)
        .limit(limit)
    )
    if staff is not None:
        stmt = stmt.where(Interaction.assignee_id == staff.id)
    return list(db.session.scalars(stmt))
