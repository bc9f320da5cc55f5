"""The sender: one pass claims due outbox rows, checks them, sends them over SMTP through
Flask-Mail and records each attempt.

Any number of senders may run at once against one database: claiming takes `FOR UPDATE SKIP
LOCKED` on PostgreSQL and marks the row claimed for MAIL_CLAIM_SECONDS, so no two senders
take the same row, and a sender that dies mid-batch only delays its rows until the claim
lapses (and sends again at most the one message it had handed to SMTP but not yet recorded:
see `deliver_due`). Idle senders wait on app.mail.wakeup.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.core.claiming import backoff, claim_due_rows
from app.core.db import utcnow
from app.core.extensions import mail
from app.mail.mime import message_for
from app.mail.models import MailStatus, OutboxMail
from app.mail.send_checks import run_checks
from app.mail.sender_db import DriverStatement, sender_connection
from app.mail.smtp import close_connection, error_text, is_alive, is_permanent, send

log = logging.getLogger(__name__)


# Messages accepted by SMTP are recorded as sent one by one (MAIL_RECORD_EVERY = 1), or in
# groups of MAIL_RECORD_EVERY closed at the latest when the oldest of the group was accepted
# this many seconds ago (MAIL_RECORD_SECONDS overrides it).
RECORD_SECONDS = 0.25

# Seconds to wait before attempt n+1: quick at first, then every 15 minutes (the cap) until
# MAIL_GIVE_UP_AFTER, so mail held up by an outage leaves at most 15 minutes after it ends.
RETRY_DELAYS = [10, 30, 60, 120, 300, 600, 900]


def retry_delay(attempts: int) -> timedelta:
    """Backoff after `attempts` failed tries (1-based)."""
    return backoff(RETRY_DELAYS, attempts)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # failed this attempt (may retry)
    gave_up: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)  # claimed, not tried: lease ran short

    @property
    def claimed(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.cancelled) + len(self.released)


_outbox = OutboxMail.__table__
_CLAIMED_COLUMNS = (_outbox.c.id, _outbox.c.kind, _outbox.c.dedupe_key, _outbox.c.to_email,
                    _outbox.c.member_id, _outbox.c.subject, _outbox.c.body_text,
                    _outbox.c.body_html, _outbox.c.headers, _outbox.c.message_id,
                    _outbox.c.attempts, _outbox.c.next_attempt_at,
                    _outbox.c.created_at, _outbox.c.requeued_at)


def claim(connection: sa.Connection, limit: int, now: datetime,
           lease: datetime) -> list[sa.Row]:
    """Claim up to `limit` due messages with one UPDATE ... RETURNING and commit the claim
    (app.core.claiming: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so no two senders take the
    same rows).

    The claim must be visible to other senders before any SMTP traffic starts. `lease`
    (claimed_until) doubles as this claim's token: every later write of the pass matches it,
    so a pass whose lease was taken over can no longer record anything.
    """
    return claim_due_rows(
        connection, _outbox,
        [_outbox.c.status == MailStatus.PENDING.value,
         _outbox.c.next_attempt_at <= now,
         sa.or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until < now)],
        order_by=[_outbox.c.next_attempt_at, _outbox.c.id], limit=limit,
        values={"claimed_until": lease}, returning=_CLAIMED_COLUMNS)


def claim_due(limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due messages for this sender (committed); their ids."""
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    with sender_connection() as connection:
        return [row.id for row in claim(connection, limit, now, lease)]


class _Pass:
    """The writes of one sender pass, each matched to the pass's lease (see `claim`)."""

    def __init__(self, connection: sa.Connection, lease: datetime, report: DeliveryReport,
                 max_attempts: int, give_up_after: timedelta) -> None:
        self.connection = connection
        self.lease = lease
        self.report = report
        self.max_attempts = max_attempts
        self.give_up_after = give_up_after
        self._sent_sql: DriverStatement | None = None

    def _mine(self, ids):
        return sa.and_(_outbox.c.id.in_(ids) if isinstance(ids, list) else _outbox.c.id == ids,
                       _outbox.c.claimed_until == self.lease)

    def sent(self, rows: list[sa.Row]) -> None:
        """Record messages the SMTP server accepted: one statement for the group."""
        if not rows:
            return
        if len(rows) == 1:
            self._sent_one(rows.pop())
            return
        ids = [row.id for row in rows]
        now = utcnow()
        done = self.connection.execute(
            sa.update(_outbox).where(self._mine(ids))
            .values(status=MailStatus.SENT.value, attempts=_outbox.c.attempts + 1,
                    sent_at=now, last_attempt_at=now, claimed_until=None, last_error=None))
        if done.rowcount != len(ids):
            log.error("mails %s were sent after their claim lapsed", ids)
        self.report.sent.extend(ids)
        rows.clear()

    def _sent_one(self, row: sa.Row) -> None:
        """"Sent" for one message, the default after every message: the statement is compiled
        once per pass and run on the driver's cursor, skipping SQLAlchemy's per-statement work
        (cache key, compile lookup, result)."""
        if self._sent_sql is None:
            self._sent_sql = DriverStatement(self.connection, sa.update(_outbox).where(
                _outbox.c.id == sa.bindparam("m_id", None),
                _outbox.c.claimed_until == sa.bindparam("m_lease", None),
            ).values(status=MailStatus.SENT.value, attempts=_outbox.c.attempts + 1,
                     sent_at=sa.bindparam("m_now", None, type_=_outbox.c.sent_at.type),
                     last_attempt_at=sa.bindparam("m_now2", None,
                                                  type_=_outbox.c.sent_at.type),
                     claimed_until=sa.null(), last_error=sa.null()))
        now = utcnow()
        done = self._sent_sql.execute(m_id=row.id, m_lease=self.lease, m_now=now, m_now2=now)
        if done != 1:
            log.error("mail %s was sent after its claim lapsed", row.id)
        self.report.sent.append(row.id)

    def failed(self, rows: list[sa.Row], error: str, *, permanent: bool = False) -> None:
        """Count a failed attempt for each row and retry it later with capped backoff, until
        MAIL_GIVE_UP_AFTER has passed since it was queued; a message the server refused
        outright (`permanent`) is given up after MAIL_MAX_ATTEMPTS."""
        if not rows:
            return
        now = utcnow()
        params = []
        for row in rows:
            attempts = row.attempts + 1
            deadline = (row.requeued_at or row.created_at) + self.give_up_after
            gave_up = now >= deadline or (permanent and attempts >= self.max_attempts)
            params.append({
                "b_id": row.id, "b_attempts": attempts, "b_error": error, "b_now": now,
                "b_status": (MailStatus.FAILED if gave_up else MailStatus.PENDING).value,
                # the last retry is made at the deadline, not skipped past it
                "b_next": row.next_attempt_at if gave_up
                else min(now + retry_delay(attempts), deadline),
            })
            self.report.failed.append(row.id)
            if gave_up:
                self.report.gave_up.append(row.id)
            log.warning("mail %s to %s failed: %s", row.id, row.to_email, error)
        self.connection.execute(
            sa.update(_outbox)
            .where(_outbox.c.id == sa.bindparam("b_id"), _outbox.c.claimed_until == self.lease)
            .values(attempts=sa.bindparam("b_attempts"), last_error=sa.bindparam("b_error"),
                    status=sa.bindparam("b_status"), next_attempt_at=sa.bindparam("b_next"),
                    last_attempt_at=sa.bindparam("b_now"), claimed_until=None),
            params)

    def each_failed(self, failures: dict[int, str], rows: dict[int, sa.Row]) -> None:
        for mail_id, error in failures.items():
            self.failed([rows[mail_id]], error)

    def close(self, ids: list[int], status: MailStatus | None, into: list[int]) -> None:
        """Cancel rows (status CANCELLED) or hand them back unsent (status None)."""
        if not ids:
            return
        values: dict = {"claimed_until": None}
        if status is not None:
            values["status"] = status.value
        self.connection.execute(sa.update(_outbox).where(self._mine(ids)).values(**values))
        into.extend(ids)


def deliver_due(limit: int | None = None) -> DeliveryReport:
    """One pass of a sender: claim a batch, check it, send it over one SMTP connection.

    - Claim: up to `limit` (MAIL_BATCH_SIZE) due messages, leased for MAIL_CLAIM_SECONDS
      (`claim`); no two senders ever hold the same message.
    - Send-time checks (opt-outs, cancelled demands...) run once for the batch, one query per
      kind; unwanted messages are cancelled in one statement.
    - Send: one SMTP connection for the batch (reconnected if the server drops it). A
      message that fails is retried later with capped backoff (`RETRY_DELAYS`) until
      MAIL_GIVE_UP_AFTER has passed since it was queued, or, when the server refused it
      outright (its recipient or content, not the shop: `is_permanent`), after
      MAIL_MAX_ATTEMPTS; then it is marked
      failed for staff to see and resend. It never stops the rest of the batch. If the lease
      is about to run out (a very slow server), the rest of the batch is handed back unsent
      instead of risking a second sender taking it while this one still sends.
    - Record: each message the SMTP server accepted is marked sent at once, one
      autocommitted statement (MAIL_RECORD_EVERY = 1, the default; a larger value records
      in groups of that size or per RECORD_SECONDS, whichever comes first, and always
      before a failure is recorded). These commits are cheap (SQLite WAL +
      synchronous=NORMAL, PostgreSQL synchronous_commit off, on the sender's connection
      only; see `sender_connection`); bench/mail_sender.py measures their cost.

    Crash window, stated plainly: if the sender dies, the one message handed to SMTP whose
    answer was not yet recorded is sent a second time once its lease lapses (with grouped
    records, up to MAIL_RECORD_EVERY). Every other claimed message is either recorded as
    sent or still pending and is delivered by the next sender after the lease: nothing is
    lost.
    """
    limit = limit or current_app.config["MAIL_BATCH_SIZE"]
    report = DeliveryReport()
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    give_up_after = current_app.config["MAIL_GIVE_UP_AFTER"]
    lease_seconds = current_app.config["MAIL_CLAIM_SECONDS"]
    # Stop starting new sends this long before the lease ends: one send may take a few
    # socket timeouts.
    margin = timedelta(seconds=min(lease_seconds / 2,
                                   3 * (current_app.config.get("MAIL_TIMEOUT") or 10)))
    with sender_connection() as connection:
        now = utcnow()
        lease = now + timedelta(seconds=lease_seconds)
        rows = claim(connection, limit, now, lease)
        if rows:
            _deliver(connection, rows, lease, margin,
                     _Pass(connection, lease, report, max_attempts, give_up_after))
    return report


class _Recorder:
    """Records what SMTP accepted through the pass's bookkeeping. On PostgreSQL, with
    "sent" recorded per message, the record of one message (a round trip to the database)
    travels while the next message's envelope goes to the SMTP server, and is confirmed
    before that message's DATA (`_sendmail`'s `before_data`): still never more than one
    accepted message unrecorded, at about the cost of grouped records. SQLite's record is a
    local write and stays in line."""

    def __init__(self, bookkeeping: _Pass, overlap: bool) -> None:
        self.bookkeeping = bookkeeping
        self.executor = ThreadPoolExecutor(1, "mail-record") if overlap else None
        self.pending: Future | None = None

    def record(self, rows: list[sa.Row]) -> None:
        """Record `rows` (emptied); a single row may still be on its way when this returns."""
        self.wait()
        if self.executor is not None and len(rows) == 1:
            self.pending = self.executor.submit(self.bookkeeping.sent, [rows.pop()])
        else:
            self.bookkeeping.sent(rows)

    def wait(self) -> None:
        """Until every record is committed (re-raising what its statement raised)."""
        if self.pending is not None:
            self.pending.result()  # a failed record raises again at every wait
            self.pending = None

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=True)


def _deliver(connection: sa.Connection, rows: list[sa.Row], lease: datetime,
             margin: timedelta, bookkeeping: _Pass) -> None:
    report = bookkeeping.report
    by_id = {row.id: row for row in rows}
    unwanted, broken = run_checks(rows)
    bookkeeping.close([row.id for row in rows if row.id in unwanted], MailStatus.CANCELLED,
                      report.cancelled)
    bookkeeping.each_failed(broken, by_id)
    todo = [row for row in rows if row.id not in unwanted and row.id not in broken]
    record_every = max(1, int(current_app.config.get("MAIL_RECORD_EVERY", 1)))
    record_seconds = float(current_app.config.get("MAIL_RECORD_SECONDS", RECORD_SECONDS))
    accepted: list[sa.Row] = []  # accepted by SMTP, not yet recorded as sent
    oldest = 0.0
    smtp = None
    recorder = _Recorder(bookkeeping, overlap=record_every == 1
                         and connection.dialect.name == "postgresql")

    def record_now() -> None:
        recorder.record(accepted)
        recorder.wait()

    try:
        for index, row in enumerate(todo):
            if utcnow() >= lease - margin:
                record_now()
                bookkeeping.close([r.id for r in todo[index:]], None, report.released)
                break
            if smtp is None:
                try:
                    smtp = mail.connect().__enter__()
                except Exception as exc:  # SMTP down: the rest of the batch waits for later
                    record_now()
                    bookkeeping.failed(todo[index:], error_text(exc))
                    break
            try:
                send(smtp, message_for(row), before_data=recorder.wait)
            except Exception as exc:
                record_now()
                bookkeeping.failed([row], error_text(exc), permanent=is_permanent(exc))
                if not is_alive(smtp):
                    close_connection(smtp)
                    smtp = None
            else:
                if not accepted:
                    oldest = time.monotonic()
                accepted.append(row)
                if len(accepted) >= record_every or time.monotonic() - oldest > record_seconds:
                    recorder.record(accepted)
        record_now()
    finally:
        try:
            recorder.close()
        finally:
            if smtp is not None:
                close_connection(smtp)
