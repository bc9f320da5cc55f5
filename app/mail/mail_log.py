"""The mail log for staff: the log's filter and list, re-queueing failed mail (audited as the
staff member who asked: "mail.resend", "mail.retry_failed"; no actor: the system), and
whether delivery is in trouble."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.core.text import contains_pattern
from app.mail.models import MailStatus, OutboxMail
from app.mail.wakeup import mail_queued
from app.membership.models import ERASED_EMAIL_DOMAIN, Member, is_erased_address


@dataclass(frozen=True)
class LogFilter:
    """The mail log's filter: a status, a kind, part of the recipient's address (each
    optional)."""

    status: str | None = None
    kind: str | None = None
    q: str | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        conditions = []
        if self.status:
            conditions.append(OutboxMail.status == MailStatus(self.status))
        if self.kind:
            conditions.append(OutboxMail.kind == self.kind)
        if self.q:
            pattern = contains_pattern(self.q.lower())
            conditions.append(sa.func.lower(OutboxMail.to_email).like(pattern, escape="\\"))
        return conditions

    def values(self) -> dict[str, str]:
        """The filter's set fields, by name (for links and the audit log)."""
        return {name: getattr(self, name) for name in ("q", "status", "kind")
                if getattr(self, name)}


def kinds() -> list[str]:
    """Every kind of mail in the log, sorted."""
    return list(db.session.scalars(
        sa.select(OutboxMail.kind).distinct().order_by(OutboxMail.kind)))


def log_query(log_filter: LogFilter) -> sa.Select:
    """The log's mails matching `log_filter`, newest first."""
    return (sa.select(OutboxMail).where(*log_filter.conditions())
            .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()))


def failed_count(log_filter: LogFilter) -> int:
    """How many failed mails match `log_filter` (0 when it asks for another status)."""
    if log_filter.status not in (None, "", MailStatus.FAILED.value):
        return 0
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail).where(
        OutboxMail.status == MailStatus.FAILED, *log_filter.conditions()))


def _actor(actor: Member | None) -> tuple[int | None, str | None]:
    return (actor.id, actor.email) if actor is not None else (None, None)


def resend(mail_id: int, actor: Member | None = None) -> OutboxMail:
    """Put a failed or cancelled message back in the queue, as `actor` asked, audited as
    "mail.resend" with its status, attempts and last error before and after. Flushes only.
    Raises InvalidInput for the mail of an erased person (its address is at erased.invalid):
    it stays as erasure left it, as in `retry_failed`."""
    row = db.session.get(OutboxMail, mail_id)
    if row is None:
        raise NotFound("No such message.")
    if is_erased_address(row.to_email):
        raise InvalidInput(_("This message was to a person whose data was erased: it cannot be "
                             "sent again."))
    before = _delivery_state(row)
    now = utcnow()
    row.status = MailStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.requeued_at = now  # retried for another MAIL_GIVE_UP_AFTER from now
    row.claimed_until = None
    db.session.flush()
    mail_queued()
    audit.record(*_actor(actor), "mail.resend", row, before=before, after=_delivery_state(row),
                 summary=f"{row.kind} to {row.to_email}")
    return row


def _delivery_state(row: OutboxMail) -> dict:
    return {"status": row.status.value, "attempts": row.attempts, "last_error": row.last_error}


def retry_failed(*conditions: sa.ColumnElement[bool], log_filter: LogFilter | None = None,
                 actor: Member | None = None) -> int:
    """Put every failed message matching `log_filter` (the mail log's filter) and `conditions`
    back in the queue, in one statement; how many. Never the mail of an erased person (its
    address is at erased.invalid): it stays as erasure left it. When any was queued again,
    audited as "mail.retry_failed" with the count and the filter. Flushes only."""
    log_filter = log_filter or LogFilter()
    now = utcnow()
    result = db.session.execute(
        sa.update(OutboxMail)
        .where(OutboxMail.status == MailStatus.FAILED, *log_filter.conditions(), *conditions,
               ~sa.func.lower(OutboxMail.to_email).endswith(f"@{ERASED_EMAIL_DOMAIN}"))
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=now, requeued_at=now,
                claimed_until=None)
        .execution_options(synchronize_session=False))
    count = result.rowcount or 0
    if count:
        mail_queued()
        audit.record(*_actor(actor), "mail.retry_failed", target_type="outbox_mail",
                     after={"count": count, "filter": log_filter.values()},
                     summary=f"{count} failed mail(s) queued again")
    return count


@dataclass(frozen=True)
class DeliveryTrouble:
    """Delivery attempts have been failing, with no message accepted since `since`."""

    since: datetime  # the first failed attempt after the last success
    latest_at: datetime
    latest_error: str
    failed_attempts: int  # messages whose latest attempt failed since then
    waiting: int  # messages still queued for a retry


def delivery_trouble() -> DeliveryTrouble | None:
    """The dashboard's warning: None while the latest delivery attempt succeeded (or none was
    made), else what has been failing since the last message the server accepted. Reads the
    last attempts through `ix_outbox_mail_last_attempt_at`, never the whole log."""
    latest = db.session.execute(
        sa.select(OutboxMail.status, OutboxMail.last_attempt_at, OutboxMail.last_error)
        .where(OutboxMail.last_attempt_at.is_not(None))
        .order_by(OutboxMail.last_attempt_at.desc()).limit(1)).first()
    if latest is None or latest.status == MailStatus.SENT or not latest.last_error:
        return None
    last_success = db.session.scalar(
        sa.select(OutboxMail.last_attempt_at)
        .where(OutboxMail.last_attempt_at.is_not(None), OutboxMail.status == MailStatus.SENT)
        .order_by(OutboxMail.last_attempt_at.desc()).limit(1))
    failing = sa.and_(OutboxMail.last_attempt_at.is_not(None),
                      OutboxMail.status.in_([MailStatus.PENDING, MailStatus.FAILED]),
                      OutboxMail.last_error.is_not(None))
    if last_success is not None:
        failing = sa.and_(failing, OutboxMail.last_attempt_at > last_success)
    since, count, waiting = db.session.execute(
        sa.select(sa.func.min(OutboxMail.last_attempt_at), sa.func.count(),
                  sa.func.count().filter(OutboxMail.status == MailStatus.PENDING))
        .where(failing)).one()
    return DeliveryTrouble(since=since or latest.last_attempt_at,
                           latest_at=latest.last_attempt_at, latest_error=latest.last_error,
                           failed_attempts=count, waiting=waiting)
