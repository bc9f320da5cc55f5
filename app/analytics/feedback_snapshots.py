"""The `feedback_snapshot` rows: one computed payload per key (the associations' summary,
satisfaction by month, loyalty and cohorts, the reorder forecast), with when it was computed
and how long it took. The admin pages read them; nothing there computes."""

from __future__ import annotations

from datetime import datetime

from app.core.db import utcnow
from app.core.extensions import db
from app.feedback.models import FeedbackSnapshot


def save_snapshot(key: str, payload: dict, seconds: float = 0.0,
                  now: datetime | None = None) -> FeedbackSnapshot:
    """Replace the snapshot under `key` (flushes)."""
    row = db.session.get(FeedbackSnapshot, key)
    if row is None:
        row = FeedbackSnapshot(key=key)
        db.session.add(row)
    row.payload = payload
    row.seconds = round(seconds, 3)
    row.computed_at = now or utcnow()
    db.session.flush()
    return row


def load_snapshot(key: str) -> FeedbackSnapshot | None:
    return db.session.get(FeedbackSnapshot, key)
