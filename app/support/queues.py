"""The staff's case queues: "my cases", "unassigned", "overdue" and all, with filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.core.extensions import db
from app.support.figures import is_open, is_overdue
from app.support.models import CasePriority, CaseStatus, CaseType, SupportCase

QUEUES = ("mine", "unassigned", "overdue", "all")
PER_PAGE = 50


@dataclass(frozen=True)
class CaseFilter:
    queue: str = "mine"
    status: CaseStatus | None = None
    case_type: CaseType | None = None
    priority: CasePriority | None = None
    assignee_id: int | None = None


def _conditions(f: CaseFilter, me: int, now: datetime) -> list:
    where: list = []
    if f.queue == "mine":
        where += [SupportCase.assignee_id == me, is_open()]
    elif f.queue == "unassigned":
        where += [SupportCase.assignee_id.is_(None), is_open()]
    elif f.queue == "overdue":
        where.append(is_overdue(now))
    if f.status is not None:
        where.append(SupportCase.status == f.status)
    if f.case_type is not None:
        where.append(SupportCase.case_type == f.case_type)
    if f.priority is not None:
        where.append(SupportCase.priority == f.priority)
    if f.assignee_id is not None:
        where.append(SupportCase.assignee_id == f.assignee_id)
    return where


def case_page(f: CaseFilter, me: int, now: datetime, page: int, per_page: int = PER_PAGE):
    """One page of the queue, most urgent first (due time, then oldest), with the customer
    and the assignee loaded (three queries and the count)."""
    stmt = (
        sa.select(SupportCase).where(*_conditions(f, me, now))
        .options(selectinload(SupportCase.member), selectinload(SupportCase.assignee))
        .order_by(SupportCase.due_at, SupportCase.id)
    )
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def queue_counts(me: int, now: datetime) -> dict[str, int]:
    """How many cases each queue holds (one query)."""
    row = db.session.execute(sa.select(
        sa.func.count().filter(SupportCase.assignee_id == me, is_open()),
        sa.func.count().filter(SupportCase.assignee_id.is_(None), is_open()),
        sa.func.count().filter(is_overdue(now)),
        sa.func.count(),
    ).select_from(SupportCase)).one()
    return dict(zip(QUEUES, (n or 0 for n in row), strict=True))
