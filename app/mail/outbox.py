"""The outbox: queue mail inside the business transaction; senders deliver it after the commit.

`enqueue` writes one `OutboxMail` row (rendered now, so the mail log shows exactly what goes
out: app.mail.rendering); `enqueue_many` writes many already rendered ones with one bulk
write. Nothing else writes outbox rows. A queueing transaction says so (`mail_queued`), so its
commit wakes the senders (app.mail.wakeup); the senders claim, send and record the rows
(app.mail.sender). Staff re-queue failed mail through app.mail.mail_log.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from app.core.bulk import bulk_insert, insert_rows, keep_as_loaded
from app.core.db import utcnow
from app.core.extensions import db
from app.mail.models import MailStatus, OutboxMail
from app.mail.rendering import render
from app.mail.wakeup import mail_queued

SUBJECT_MAX_LENGTH = 300  # OutboxMail.subject's column


def enqueue(
    *,
    kind: str,
    to_email: str,
    template: str,
    context: dict,
    member_id: int | None = None,
    dedupe_key: str | None = None,
    headers: dict[str, str] | None = None,
    locale: str | None = None,
    new_key: bool = False,
) -> OutboxMail:
    """Queue one email, rendered from templates/mail/<template>/{subject,body}.txt (+ body.html).

    With a `dedupe_key`, queueing the same mail twice returns the first row instead (the unique
    index backs this up under concurrency). `new_key=True` says the key names something created
    in the caller's transaction, so no row can have it yet: the look-up is skipped (the unique
    index still refuses a second row). Flushes the session's pending changes, then writes the
    row; never commits.
    """
    if dedupe_key is not None and not new_key:
        existing = db.session.scalar(
            sa.select(OutboxMail).where(OutboxMail.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    mail = render(template, context, member_id=member_id, locale=locale)
    stamp = utcnow()
    row = OutboxMail(
        kind=kind,
        to_email=to_email,
        member_id=member_id,
        dedupe_key=dedupe_key,
        subject=mail.subject[:SUBJECT_MAX_LENGTH],
        body_text=mail.body_text,
        body_html=mail.body_html,
        headers=dict(headers or {}),
        created_at=stamp,
        next_attempt_at=stamp,
        message_id=_message_id(),
    )
    # One INSERT, the row kept as loaded (app.core.bulk): a checkout queues its mail inside
    # SQLite's write lock, where the unit of work's flush cost more than the statement.
    db.session.flush()  # what the caller added first is written first, as a flush would
    insert_rows([row])
    keep_as_loaded(row)
    mail_queued()
    return row


def enqueue_many(mails: Iterable[dict], *, now: datetime | None = None) -> int:
    """Queue many mails already rendered, with one bulk write (app.core.bulk); returns how many.

    Each mail is a dict with `kind`, `to_email`, `subject` and `body_text`, and optionally
    `member_id`, `dedupe_key`, `body_html` and `headers`. Each row is what `enqueue` writes:
    pending, due at `now` (default: the current time), with its own Message-ID and the subject
    cut to SUBJECT_MAX_LENGTH. Unlike `enqueue`, no dedupe key is looked up: each must be new
    (the unique index refuses a repeated one, and the whole write fails). No object enters the
    session; nothing commits.
    """
    stamp = now or utcnow()
    rows = [{
        "kind": mail["kind"],
        "dedupe_key": mail.get("dedupe_key"),
        "to_email": mail["to_email"],
        "member_id": mail.get("member_id"),
        "subject": mail["subject"][:SUBJECT_MAX_LENGTH],
        "body_text": mail["body_text"],
        "body_html": mail.get("body_html"),
        "headers": mail.get("headers") or {},
        "status": MailStatus.PENDING,
        "attempts": 0,
        "created_at": stamp,
        "next_attempt_at": stamp,
        "message_id": _message_id(),
    } for mail in mails]
    if rows:
        bulk_insert(OutboxMail.__table__, rows)
        mail_queued()
    return len(rows)


def _message_id() -> str:
    """A Message-ID of our own for one outbox row: a message sent twice (see `deliver_due`)
    carries the same one, so it can be recognised as a duplicate."""
    return f"<{uuid.uuid4().hex}@bookstation.mail>"
