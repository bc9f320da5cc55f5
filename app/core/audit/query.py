"""Reading the audit log: filter, page, compare before and after, export.

Read-only but for `record_export`, which audits a download of the log itself (the entries
are written by app.core.audit.record). Filters are bound parameters (LIKE patterns
escaped by app.core.text.contains_pattern); the list runs on the `at` index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.audit.record import record
from app.core.extensions import db
from app.core.text import contains_pattern

CSV_HEADER = ("id", "at", "actor", "actor_id", "action", "target_type", "target_id", "summary",
              "before", "after", "ip")


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asked for; every part is optional.

    `actor`: part of the actor's email (as it was recorded), or a member id typed as digits.
    `action`: an exact action ("order.status") or an area ("order" matches "order.*").
    `date_from`/`date_to`: days in UTC, both ends included.
    """

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def conditions(f: AuditFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.actor:
        text = f.actor.strip()
        by_label = sa.func.lower(AuditEntry.actor_label).like(
            contains_pattern(text.lower()), escape="\\")
        if text.isdecimal() and len(text) <= 9:
            where.append(sa.or_(AuditEntry.actor_id == int(text), by_label))
        else:
            where.append(by_label)
    if f.action:
        if "." in f.action:
            where.append(AuditEntry.action == f.action)
        else:
            where.append(AuditEntry.action.startswith(f.action + ".", autoescape=True))
    if f.target_type:
        where.append(AuditEntry.target_type == f.target_type)
    if f.target_id is not None:
        where.append(AuditEntry.target_id == f.target_id)
    if f.date_from:
        where.append(AuditEntry.at >= _day_start(f.date_from))
    if f.date_to:
        where.append(AuditEntry.at < _day_start(f.date_to) + timedelta(days=1))
    return where


def entries(f: AuditFilter) -> sa.Select:
    """The matching entries, newest first (page it with db.paginate)."""
    return (sa.select(AuditEntry).where(*conditions(f))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))


def page_of(f: AuditFilter, page: int, per_page: int):
    """One page of the matching entries, newest first (a 404 past the last page)."""
    return db.paginate(entries(f), page=page, per_page=per_page, error_out=True)


def count(f: AuditFilter) -> int:
    stmt = entries(f).order_by(None)
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


def record_export(actor_id: int, actor_email: str, filters: dict, f: AuditFilter) -> AuditEntry:
    """Audit one download of the log by the member `actor_id`: with the filters as typed
    (`filters`) and the number of rows the file holds, this entry included."""
    entry = record(actor_id, actor_email, "audit.export", target_type="audit_log",
                   after={"filters": filters, "rows": 0}, summary="Audit log exported")
    assert entry is not None  # an entry with no `before` is always written
    rows = count(f)
    entry.after = {"filters": filters, "rows": rows}
    entry.summary = f"Audit log exported: {rows} row(s)"
    return entry


def actions() -> list[str]:
    """Every action recorded so far, for the filter's choices."""
    return list(db.session.scalars(
        sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def target_types() -> list[str]:
    return list(db.session.scalars(
        sa.select(AuditEntry.target_type).where(AuditEntry.target_type.is_not(None))
        .distinct().order_by(AuditEntry.target_type)))


def history_of(target_type: str, target_id: int, limit: int = 50) -> list[AuditEntry]:
    """The latest entries about one record (e.g. a customer's page), newest first."""
    return list(db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: object
    after: object
    changed: bool
    only_before: bool  # the field is missing on the "after" side (e.g. a deletion)
    only_after: bool  # missing on the "before" side (e.g. a creation)


def compare(entry: AuditEntry) -> list[FieldChange]:
    """The fields of `before` and `after` side by side, in a stable order (before's first)."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    fields = list(before) + [k for k in after if k not in before]
    return [
        FieldChange(field=name, before=before.get(name), after=after.get(name),
                    changed=before.get(name) != after.get(name),
                    only_before=name in before and name not in after and entry.after is not None,
                    only_after=name in after and name not in before
                    and entry.before is not None)
        for name in fields
    ]


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def display(value: object) -> str:
    """One recorded value as shown on the page: text as typed, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def csv_rows(f: AuditFilter) -> Iterator[tuple]:
    """The header, then every matching entry, read 500 rows at a time."""
    yield CSV_HEADER
    stmt = entries(f).execution_options(yield_per=500)
    for entry in db.session.scalars(stmt):
        yield (entry.id, entry.at.isoformat(), entry.actor_label, entry.actor_id or "",
               entry.action, entry.target_type or "", entry.target_id or "", entry.summary,
               _json(entry.before), _json(entry.after), entry.ip or "")
