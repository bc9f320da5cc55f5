"""The outbox: queue mail inside the business transaction, deliver it after the commit.

`enqueue` writes one `OutboxMail` row (rendered now, so the mail log shows exactly what goes
out). `deliver_due` is one pass of a sender: it claims due rows, sends them over SMTP through
Flask-Mail, and records each attempt. Any number of senders may run at once against one
database: claiming takes `FOR UPDATE SKIP LOCKED` on PostgreSQL and marks the row claimed for
MAIL_CLAIM_SECONDS, so no two senders take the same row, and a sender that dies mid-batch
only delays its rows until the claim lapses.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from flask_mail import Message

from app.db import utcnow
from app.extensions import db, mail
from app.models import MailStatus, OutboxMail

log = logging.getLogger(__name__)

# Seconds to wait before attempt n+1 (the last figure repeats): quick at first, then patient.
RETRY_DELAYS = [10, 30, 60, 300, 900, 1800, 3600]

# Per kind, a check run at send time: False cancels the mail (e.g. the member opted out
# since it was queued). Features register theirs with `register_send_check`.
_send_checks: dict[str, Callable[[OutboxMail], bool]] = {}


def register_send_check(kind: str, check: Callable[[OutboxMail], bool]) -> None:
    _send_checks[kind] = check


def retry_delay(attempts: int) -> timedelta:
    """Backoff after `attempts` failed tries (1-based)."""
    index = min(max(attempts, 1), len(RETRY_DELAYS)) - 1
    return timedelta(seconds=RETRY_DELAYS[index])


def enqueue(
    *,
    kind: str,
    to_email: str,
    template: str,
    context: dict,
    member_id: int | None = None,
    dedupe_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMail:
    """Queue one email, rendered from templates/mail/<template>/{subject,body}.txt (+ body.html).

    With a `dedupe_key`, queueing the same mail twice returns the first row instead (the unique
    index backs this up under concurrency). Flushes but never commits.
    """
    if dedupe_key is not None:
        existing = db.session.scalar(
            sa.select(OutboxMail).where(OutboxMail.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    subject = " ".join(render_template(f"mail/{template}/subject.txt", **context).split())
    body_text = render_template(f"mail/{template}/body.txt", **context)
    try:
        body_html: str | None = render_template(f"mail/{template}/body.html", **context)
    except Exception as exc:  # a missing HTML part is fine; text is always sent
        if exc.__class__.__name__ != "TemplateNotFound":
            raise
        body_html = None
    row = OutboxMail(
        kind=kind,
        to_email=to_email,
        member_id=member_id,
        dedupe_key=dedupe_key,
        subject=subject[:300],
        body_text=body_text,
        body_html=body_html,
        headers=dict(headers or {}),
        message_id=f"<{uuid.uuid4().hex}@bookstation.mail>",
    )
    db.session.add(row)
    db.session.flush()
    return row


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # failed this attempt (may retry)
    gave_up: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.cancelled)


def claim_due(limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due messages for this sender and commit the claim.

    Commits: the claim must be visible to other senders before any SMTP traffic starts.
    """
    now = now or utcnow()
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    due = (
        sa.select(OutboxMail.id)
        .where(
            OutboxMail.status == MailStatus.PENDING,
            OutboxMail.next_attempt_at <= now,
            sa.or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now),
        )
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.id.in_(ids))
            .values(claimed_until=now + lease)
        )
    db.session.commit()
    return ids


def _message_for(row: OutboxMail) -> Message:
    msg = Message(
        subject=row.subject,
        recipients=[row.to_email],
        body=row.body_text,
        html=row.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=dict(row.headers or {}),
    )
    msg.msgId = row.message_id
    return msg


def deliver_due(limit: int | None = None) -> DeliveryReport:
    """One pass of a sender: claim, send, record. Commits after every message.

    A message that fails is retried later with backoff; after MAIL_MAX_ATTEMPTS it is marked
    failed for staff to see and resend. One broken message never stops the rest.
    """
    limit = limit or current_app.config["MAIL_BATCH_SIZE"]
    report = DeliveryReport()
    ids = claim_due(limit)
    if not ids:
        return report
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    connection = None
    connect_error: Exception | None = None
    try:
        for mail_id in ids:
            row = db.session.get(OutboxMail, mail_id)
            if row is None or row.status != MailStatus.PENDING:
                continue
            check = _send_checks.get(row.kind)
            if check is not None and not check(row):
                row.status = MailStatus.CANCELLED
                row.claimed_until = None
                db.session.commit()
                report.cancelled.append(mail_id)
                continue
            try:
                if connection is None and connect_error is None:
                    try:
                        connection = mail.connect().__enter__()
                    except Exception as exc:  # SMTP down: every message this pass fails
                        connect_error = exc
                if connect_error is not None:
                    raise connect_error
                connection.send(_message_for(row))
            except Exception as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                row.claimed_until = None
                if row.attempts >= max_attempts:
                    row.status = MailStatus.FAILED
                    report.gave_up.append(mail_id)
                else:
                    row.next_attempt_at = utcnow() + retry_delay(row.attempts)
                report.failed.append(mail_id)
                log.warning("mail %s to %s failed: %s", mail_id, row.to_email, row.last_error)
                if connection is not None and not _smtp_alive(connection):
                    _close(connection)
                    connection = None
            else:
                row.attempts += 1
                row.status = MailStatus.SENT
                row.sent_at = utcnow()
                row.claimed_until = None
                row.last_error = None
                report.sent.append(mail_id)
            db.session.commit()
    finally:
        if connection is not None:
            _close(connection)
    return report


def _smtp_alive(connection) -> bool:
    try:
        return connection.host.noop()[0] == 250
    except Exception:
        return False


def _close(connection) -> None:
    try:
        connection.__exit__(None, None, None)
    except Exception:
        log.debug("closing SMTP connection failed", exc_info=True)


def resend(mail_id: int) -> OutboxMail:
    """Put a failed or cancelled message back in the queue, as staff asked. Flushes only."""
    row = db.session.get(OutboxMail, mail_id)
    if row is None:
        from app.errors import NotFound

        raise NotFound("No such message.")
    row.status = MailStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.claimed_until = None
    db.session.flush()
    return row
