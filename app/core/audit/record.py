"""Writing the audit log. Every admin change calls `record` in its own transaction, so the
entry commits or rolls back with the change it describes.

    before = audit.snapshot(member, CONTACT_FIELDS)
    ...change member...
    audit.record(actor.id, actor.email, "customer.update", member, before=before,
                 after=audit.snapshot(member, CONTACT_FIELDS), summary="Contact details edited")

The actor is given as plain values, their id and their email as it is now (the entry keeps that
email even if it changes later); no actor (None, None) is the system.

`record` keeps only the fields that changed when both `before` and `after` are given, and
skips the entry entirely when nothing changed (a form saved without edits is not a change).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context, request

from app.core.audit.models import AuditEntry
from app.core.extensions import db


def json_value(value: object) -> object:
    """A JSON-safe copy of one field value (exact decimals as strings, times in ISO 8601)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple | set):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def snapshot(obj: object, fields: Iterable[str]) -> dict:
    """The named attributes of `obj` as a JSON-safe dict."""
    return {name: json_value(getattr(obj, name)) for name in fields}


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, from each side."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(actor_id: int | None, actor_email: str | None, action: str, target: object = None,
           *, target_type: str | None = None, target_id: int | None = None,
           before: dict | None = None, after: dict | None = None,
           summary: str = "") -> AuditEntry | None:
    """Add an audit entry by the member `actor_id` whose email is `actor_email` (both None: the
    system); flushes, never commits. `target` is a model instance whose table name and id are
    recorded unless `target_type`/`target_id` are given. Returns None when before and after
    were both given and are equal."""
    if before is not None and after is not None:
        before, after = changed(json_value(before), json_value(after))
        if not before and not after:
            return None
    else:
        before = json_value(before) if before is not None else None
        after = json_value(after) if after is not None else None
    if target is not None:
        target_type = target_type or getattr(target, "__tablename__", type(target).__name__)
        target_id = target_id if target_id is not None else getattr(target, "id", None)
    entry = AuditEntry(
        actor_id=actor_id,
        actor_label=actor_email if actor_id is not None else "system",
        action=action, target_type=target_type, target_id=target_id,
        summary=summary[:300], before=before, after=after,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry
