"""The daily task digest: each staff member gets one mail listing their open tasks, overdue
ones first (`flask tasks digest`, e.g. from cron each morning).

One mail per staff member per day: the outbox's dedupe key `task_digest:<member>:<day>` makes
a second run the same day (or two at once: the unique index, each mail in a savepoint) queue
nothing more. The mail names no customer and quotes no note (a staff inbox keeps it after a
customer's erasure): each task is its customer's member number, due date and priority, with
a link to the record. Flushes, never commits.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.core.db import utcnow
from app.core.extensions import db
from app.core.urls import external_url
from app.crm.interactions import open_tasks, priority_label
from app.crm.models import Interaction
from app.mail.models import OutboxMail
from app.mail.outbox import enqueue
from app.membership.models import Member

KIND = "task_digest"


def dedupe_key(member_id: int, day: date) -> str:
    return f"{KIND}:{member_id}:{day.isoformat()}"


def _task_line(task: Interaction, today: date) -> dict:
    return {
        "member_no": task.member.member_no or str(task.member_id),
        "due": task.follow_up_on,
        "overdue": task.follow_up_on < today,
        "priority": priority_label(task.priority),
        "url": external_url("admin.customer", member_id=task.member_id) + "#interactions",
    }


def send_digests(today: date | None = None) -> int:
    """Queue today's digest for every staff member with open tasks who has none yet; returns
    how many were queued."""
    today = today or utcnow().date()
    by_assignee: dict[int, list[Interaction]] = defaultdict(list)
    for task in open_tasks():
        if task.assignee_id is not None:
            by_assignee[task.assignee_id].append(task)
    if not by_assignee:
        return 0
    keys = {member_id: dedupe_key(member_id, today) for member_id in by_assignee}
    sent = set(db.session.scalars(
        sa.select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.in_(list(keys.values())))))
    staff = db.session.scalars(sa.select(Member).where(
        Member.id.in_([m for m, key in keys.items() if key not in sent]),
        Member.is_active_account.is_(True), Member.erased_at.is_(None))).all()
    queued = 0
    for member in sorted(staff, key=lambda m: m.id):
        if not member.is_staff:
            continue
        tasks = by_assignee[member.id]
        lines = [_task_line(task, today) for task in tasks]
        try:
            with db.session.begin_nested():
                enqueue(kind=KIND, to_email=member.email, template=KIND,
                        context={"name": member.name, "tasks": lines, "today": today,
                                 "overdue": sum(1 for line in lines if line["overdue"]),
                                 "tasks_url": external_url("admin.my_tasks"),
                                 "shop_name": current_app.config["SHOP_NAME"]},
                        member_id=member.id, dedupe_key=keys[member.id], new_key=True,
                        locale=member.locale)
        except IntegrityError:  # another run queued it meanwhile
            continue
        queued += 1
    return queued
