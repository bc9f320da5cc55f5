"""The service figures, each defined once: open cases, overdue cases, median first response
time and median resolution time. The dashboard, the satisfaction report, the queues and the
CSV download all read them from here.

- open: new, open or waiting on the customer (not yet resolved or closed);
- overdue: new or open (the next move is ours) and past its due time; a case waiting on the
  customer is not overdue (the clock is theirs);
- first response: from opening to the first staff reply, over the cases opened in the last
  WINDOW_DAYS that were answered;
- resolution: from opening to resolved (or closed), over the cases opened in the last
  WINDOW_DAYS that were resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.db import utcnow
from app.core.extensions import db
from app.support.models import CaseStatus, SupportCase

OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING)
OURS_TO_MOVE = (CaseStatus.NEW, CaseStatus.OPEN)
WINDOW_DAYS = 90


def is_open() -> sa.ColumnElement[bool]:
    return SupportCase.status.in_(OPEN_STATUSES)


def is_overdue(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(SupportCase.status.in_(OURS_TO_MOVE), SupportCase.due_at < now)


def case_is_overdue(case: SupportCase, now: datetime) -> bool:
    """The same rule for one loaded case (the queue marks each row)."""
    return case.status in OURS_TO_MOVE and case.due_at < now


@dataclass(frozen=True)
class CaseFigures:
    now: datetime
    open: int
    overdue: int
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    answered: int  # cases the first-response median is taken over
    resolved: int  # cases the resolution median is taken over


def _median(pairs: list[tuple[datetime, datetime]]) -> timedelta | None:
    seconds = [(end - start).total_seconds() for start, end in pairs]
    return timedelta(seconds=round(median(seconds))) if seconds else None


def case_figures(now: datetime | None = None) -> CaseFigures:
    """Three queries: the counts, and the two sets of times the medians are taken over."""
    now = now or utcnow()
    counts = db.session.execute(sa.select(
        sa.func.count().filter(is_open()),
        sa.func.count().filter(is_overdue(now)),
    ).select_from(SupportCase)).one()
    since = now - timedelta(days=WINDOW_DAYS)
    answered = db.session.execute(
        sa.select(SupportCase.created_at, SupportCase.first_response_at)
        .where(SupportCase.created_at >= since, SupportCase.first_response_at.is_not(None))
    ).all()
    resolved = db.session.execute(
        sa.select(SupportCase.created_at, SupportCase.resolved_at)
        .where(SupportCase.created_at >= since, SupportCase.resolved_at.is_not(None))
    ).all()
    return CaseFigures(now=now, open=counts[0] or 0, overdue=counts[1] or 0,
                       median_first_response=_median([tuple(r) for r in answered]),
                       median_resolution=_median([tuple(r) for r in resolved]),
                       answered=len(answered), resolved=len(resolved))


def hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 1)


def csv_rows(figures: CaseFigures):
    """The numbers behind the service figures, for the CSV download."""
    yield [_("Figure"), _("Value"), _("Unit"), _("Cases counted")]
    yield [_("Open cases"), figures.open, _("cases"), figures.open]
    yield [_("Overdue cases"), figures.overdue, _("cases"), figures.overdue]
    yield [_("Median first response time"), hours(figures.median_first_response), _("hours"),
           figures.answered]
    yield [_("Median resolution time"), hours(figures.median_resolution), _("hours"),
           figures.resolved]
