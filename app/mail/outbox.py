"""The outbox: queue mail inside the business transaction, deliver it after the commit.

`enqueue` writes one `OutboxMail` row (rendered now, so the mail log shows exactly what goes
out); `enqueue_many` writes many already rendered ones with one bulk write. Nothing else writes
outbox rows. `deliver_due` is one pass of a sender: it claims due rows, sends them over SMTP through
Flask-Mail, and records each attempt. Any number of senders may run at once against one
database: claiming takes `FOR UPDATE SKIP LOCKED` on PostgreSQL and marks the row claimed for
MAIL_CLAIM_SECONDS, so no two senders take the same row, and a sender that dies mid-batch
only delays its rows until the claim lapses (and sends again at most the one message it had
handed to SMTP but not yet recorded: see `deliver_due`).

Senders sleep while nothing is due and wake when mail is queued: the enqueuing transaction
says so (`mail_queued`), and at its commit PostgreSQL NOTIFYs every listening sender and an
in-process event wakes a sender thread in the same process (`SenderWakeup`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header as EmailHeader
from email.utils import formatdate

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mail import BadHeaderError, Message, email_dispatched, sanitize_address
from sqlalchemy.orm import Session

from app.core.bulk import bulk_insert
from app.core.db import utcnow
from app.core.extensions import db, mail
from app.mail.models import MailStatus, OutboxMail
from app.membership.models import Member

log = logging.getLogger(__name__)

# Messages accepted by SMTP are recorded as sent one by one (MAIL_RECORD_EVERY = 1), or in
# groups of MAIL_RECORD_EVERY closed at the latest when the oldest of the group was accepted
# this many seconds ago (MAIL_RECORD_SECONDS overrides it).
RECORD_SECONDS = 0.25

# Seconds to wait before attempt n+1: quick at first, then every 15 minutes (the cap) until
# MAIL_GIVE_UP_AFTER, so mail held up by an outage leaves at most 15 minutes after it ends.
RETRY_DELAYS = [10, 30, 60, 120, 300, 600, 900]

# Per kind, a check run at send time: False cancels the mail (e.g. the member opted out
# since it was queued). Features register theirs with `register_send_check`.
_send_checks: dict[str, Callable[[OutboxMail], bool]] = {}


def register_send_check(kind: str, check: Callable[[OutboxMail], bool]) -> None:
    _send_checks[kind] = check


def retry_delay(attempts: int) -> timedelta:
    """Backoff after `attempts` failed tries (1-based)."""
    index = min(max(attempts, 1), len(RETRY_DELAYS)) - 1
    return timedelta(seconds=RETRY_DELAYS[index])


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
    index still refuses a second row). Flushes but never commits.
    """
    if dedupe_key is not None and not new_key:
        existing = db.session.scalar(
            sa.select(OutboxMail).where(OutboxMail.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    # Rendered in the reader's language (see _mail_locale).
    with force_locale(_mail_locale(member_id, locale)):
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
        subject=subject[:SUBJECT_MAX_LENGTH],
        body_text=body_text,
        body_html=body_html,
        headers=dict(headers or {}),
        message_id=_message_id(),
    )
    db.session.add(row)
    db.session.flush()
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


def _mail_locale(member_id: int | None, locale: str | None) -> str:
    """issue 6: the language a mail is written in. An explicit `locale`, else the member's saved
    language, else the language of the request that queues it (a visitor's demand, a password
    reset) unless someone else is logged in there (staff acting for a member), else the shop's
    default."""
    from app.membership.models import Member

    languages = current_app.config["LANGUAGES"]
    if locale in languages:
        return locale
    if member_id is not None:
        saved = db.session.scalar(sa.select(Member.locale).where(Member.id == member_id))
        if saved in languages:
            return saved
    return unsaved_locale(member_id)


def unsaved_locale(member_id: int | None) -> str:
    """The rest of _mail_locale's rule, for a reader with no saved language: the request's
    language unless someone else is logged in there, else the shop's default."""
    from flask_babel import get_locale
    from flask_login import current_user

    if has_request_context() and (
        member_id is None
        or not current_user.is_authenticated
        or current_user.id == member_id
    ):
        return str(get_locale())
    return current_app.config["BABEL_DEFAULT_LOCALE"]


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


def _claim(connection: sa.Connection, limit: int, now: datetime,
           lease: datetime) -> list[sa.Row]:
    """Claim up to `limit` due messages with one UPDATE ... RETURNING and commit the claim.

    The claim must be visible to other senders before any SMTP traffic starts. PostgreSQL: the
    inner SELECT takes `FOR UPDATE SKIP LOCKED`, so two senders never wait for or take the same
    rows, and the outer WHERE re-checks the due conditions on the latest row version. SQLite:
    the single statement runs under the database's one write lock, so it is atomic too.
    `lease` (claimed_until) doubles as this claim's token: every later write of the pass
    matches it, so a pass whose lease was taken over can no longer record anything.
    """
    due = (
        sa.select(_outbox.c.id)
        .where(
            _outbox.c.status == MailStatus.PENDING.value,
            _outbox.c.next_attempt_at <= now,
            sa.or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until < now),
        )
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # A CTE, evaluated once: PostgreSQL may re-run an `IN (SELECT ... LIMIT n FOR UPDATE SKIP
    # LOCKED)` subquery inside the join and so claim far more than n rows.
    due_cte = due.cte("due").prefix_with("MATERIALIZED", dialect="postgresql")
    stmt = (
        sa.update(_outbox)
        .add_cte(due_cte)
        .where(
            _outbox.c.id.in_(sa.select(due_cte.c.id)),
            _outbox.c.status == MailStatus.PENDING.value,
            sa.or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until < now),
        )
        .values(claimed_until=lease)
        .returning(*_CLAIMED_COLUMNS)
    )
    rows = list(connection.execute(stmt))
    rows.sort(key=lambda row: (row.next_attempt_at, row.id))
    return rows


def claim_due(limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due messages for this sender (committed); their ids."""
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    with _sender_connection() as connection:
        return [row.id for row in _claim(connection, limit, now, lease)]


# ----------------------------------------------------------------- cheap bookkeeping commits


_sqlite_wal_checked: set[str] = set()


@contextlib.contextmanager
def _sender_connection() -> Iterator[sa.Connection]:
    """The sender's own database connection for one pass, in autocommit mode.

    Every write of a pass is one statement (the claim, a cancellation, "sent", a failure), so
    each is its own transaction: one round trip, no BEGIN/COMMIT around it. Those many small
    commits are made cheap, on this connection only, and put back before it returns to the
    pool, so the shop's own transactions keep their durability:

    - SQLite: the database is switched to WAL once (a lasting property of the file; skip with
      MAIL_SQLITE_WAL = False) and this connection commits with synchronous=NORMAL: in WAL
      mode that never corrupts the file, but a power cut (not a crash of the process) may
      forget the last commits.
    - PostgreSQL: `synchronous_commit = off`: a commit returns before its WAL is flushed, so
      a crash of the database server may forget the last fraction of a second of bookkeeping.

    What such a loss costs is the same as a sender dying (see `deliver_due`): a message
    recorded as sent may be sent once more after its lease lapses. Nothing is lost.
    """
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        undo = _fast_commits(connection)
        try:
            yield connection
        finally:
            try:
                undo()
            except Exception:  # the connection broke; the pool discards it
                log.debug("could not restore the sender connection's settings", exc_info=True)


def _fast_commits(connection: sa.Connection) -> Callable[[], None]:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET synchronous_commit = off")
        return lambda: connection.exec_driver_sql("RESET synchronous_commit")
    if connection.dialect.name != "sqlite":
        return lambda: None
    driver = connection.connection.driver_connection
    url = str(connection.engine.url)
    if url not in _sqlite_wal_checked and current_app.config.get("MAIL_SQLITE_WAL", True):
        _sqlite_wal_checked.add(url)
        try:
            if driver.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
                driver.execute("PRAGMA journal_mode=WAL")
        except Exception:  # busy: stay in rollback mode; commits are just slower
            log.info("could not switch SQLite to WAL", exc_info=True)
    if driver.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return lambda: None
    before = int(driver.execute("PRAGMA synchronous").fetchone()[0])
    driver.execute("PRAGMA synchronous=NORMAL")
    return lambda: driver.execute(f"PRAGMA synchronous={before}")


# ------------------------------------------------------------------------- send-time checks

# Per kind, a check run at send time: False cancels the mail (e.g. the member opted out
# since it was queued). `register_send_check(kind, check)` takes a check of one OutboxMail;
# `register_batch_send_check(kind, check)` one that answers for a whole batch in one query:
# check(rows) -> ids of the rows still wanted (rows have id, kind, dedupe_key, member_id,
# to_email).
_batch_send_checks: dict[str, Callable[[list[sa.Row]], set[int]]] = {}


def register_batch_send_check(kind: str, check: Callable[[list[sa.Row]], set[int]]) -> None:
    _batch_send_checks[kind] = check


def member_accepts_mail(rows: list[sa.Row]) -> set[int]:
    """A batch send check for mail the shop chooses to send (review invitations, campaigns):
    wanted while its member exists, is active and still accepts mail (`mail_opt_in`)."""
    member_ids = {row.member_id for row in rows if row.member_id is not None}
    if not member_ids:
        return set()
    accepting = set(db.session.scalars(
        sa.select(Member.id).where(Member.id.in_(member_ids), Member.mail_opt_in.is_(True),
                                   Member.is_active_account.is_(True))))
    return {row.id for row in rows if row.member_id in accepting}


def _run_checks(rows: list[sa.Row]) -> tuple[set[int], dict[int, str]]:
    """(ids of unwanted rows, {id: error} of rows whose check itself broke)."""
    by_kind: dict[str, list[sa.Row]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    unwanted: set[int] = set()
    broken: dict[int, str] = {}
    for kind, group in by_kind.items():
        if kind in _batch_send_checks:
            try:
                wanted = _batch_send_checks[kind](group)
            except Exception as exc:  # the whole kind is undecided: retry these later
                log.exception("send check for %s failed", kind)
                broken.update((row.id, _error_text(exc)) for row in group)
                db.session.rollback()
                continue
            unwanted.update(row.id for row in group if row.id not in wanted)
        elif kind in _send_checks:
            objects = {obj.id: obj for obj in db.session.scalars(
                sa.select(OutboxMail).where(OutboxMail.id.in_([row.id for row in group])))}
            for row in group:
                try:
                    if not _send_checks[kind](objects[row.id]):
                        unwanted.add(row.id)
                except Exception as exc:
                    log.exception("send check for mail %s failed", row.id)
                    broken[row.id] = _error_text(exc)
                    db.session.rollback()
    db.session.commit()  # end the checks' read transaction (and expire what the caller holds)
    return unwanted, broken


# ------------------------------------------------------------------------------- delivery


class _OutboxMessage(Message):
    """A Flask-Mail message whose MIME bytes are written directly for the outbox's one shape
    (text, optional HTML alternative, no attachments): ~20x cheaper than building it through
    `email.message` with the SMTP policy, which also RFC 2047-encodes a long List-Unsubscribe
    URL into something mail clients cannot use. Anything unusual (a non-ASCII address or
    header) goes through Flask-Mail's own builder."""

    def as_bytes(self) -> bytes:
        fast = _fast_mime(self)
        return fast if fast is not None else super().as_bytes()


_CRLF = "\r\n"


@functools.lru_cache(maxsize=256)
def _subject_header(subject: str) -> str:
    if subject.isascii() and len(subject) < 900:
        return subject
    return EmailHeader(subject, "utf-8").encode(linesep=_CRLF)


@functools.lru_cache(maxsize=16)
def _address_header(address: str) -> str:
    return sanitize_address(address, "utf-8")


def _part(text: str, subtype: str) -> str:
    if text.isascii() and all(len(line) < 990 for line in text.splitlines()):
        body = _CRLF.join(text.splitlines())
        encoding = "7bit"
    else:
        body = base64.encodebytes(text.encode("utf-8")).decode("ascii").replace("\n", _CRLF)
        encoding = "base64"
    return (f'Content-Type: text/{subtype}; charset="utf-8"{_CRLF}MIME-Version: 1.0{_CRLF}'
            f"Content-Transfer-Encoding: {encoding}{_CRLF}{_CRLF}{body}{_CRLF}")


def _fast_mime(msg: Message) -> bytes | None:
    recipients = [r for r in msg.recipients if isinstance(r, str)]
    extra = msg.extra_headers or {}
    if (msg.attachments or msg.cc or msg.bcc or msg.reply_to or len(recipients) != 1
            or set(msg.alts) - {"html"} or not isinstance(msg.sender, str)):
        return None
    values = [recipients[0], msg.msgId, *extra.keys(), *extra.values()]
    if not all(isinstance(v, str) and v.isascii() for v in values):
        return None
    if any("\r" in v or "\n" in v for v in values):
        raise BadHeaderError("newline in a header")
    lines = [f"Subject: {_subject_header(msg.subject or '')}",
             f"From: {_address_header(msg.sender)}",
             f"To: {recipients[0]}",
             f"Date: {formatdate(msg.date, localtime=True)}",
             f"Message-ID: {msg.msgId}",
             *(f"{key}: {value}" for key, value in extra.items()),
             "MIME-Version: 1.0"]
    html = msg.alts.get("html")
    if html is None:
        text = _part(msg.body or "", "plain")
        return (_CRLF.join(lines) + _CRLF + text).encode("ascii")
    boundary = f"=============={uuid.uuid4().hex}=="
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    return (_CRLF.join(lines) + _CRLF + _CRLF
            + f"--{boundary}{_CRLF}" + _part(msg.body or "", "plain")
            + f"--{boundary}{_CRLF}" + _part(html, "html")
            + f"--{boundary}--{_CRLF}").encode("ascii")


def _message_for(row) -> Message:
    msg = _OutboxMessage(
        subject=row.subject,
        recipients=[row.to_email],
        body=row.body_text,
        html=row.body_html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers=dict(row.headers or {}),
    )
    msg.msgId = row.message_id
    return msg


def _envelope_address(address: str) -> str:
    if address.isascii() and not any(c in address for c in '<>,"() '):
        return address  # a bare address: what sanitize_address would return, 50x cheaper
    return _address_header(address)


def _send(connection, message: Message,
          before_data: Callable[[], None] | None = None) -> None:
    """`flask_mail.Connection.send` for one outbox message, minus its per-message address
    parsing (the sender's address is sanitised once per process, a bare recipient address is
    used as it is): same checks, same SMTP conversation, same `email_dispatched` signal.
    `before_data` runs after the envelope (MAIL FROM, RCPT TO), just before DATA."""
    if message.has_bad_headers():
        raise BadHeaderError
    if message.date is None:
        message.date = time.time()
    if connection.host is not None:
        _sendmail(
            connection.host,
            _address_header(message.sender),
            [_envelope_address(to) for to in message.send_to],
            message.as_bytes(),
            message.mail_options,
            message.rcpt_options,
            before_data,
        )
    email_dispatched.send(current_app._get_current_object(), message=message)


def _sendmail(host: smtplib.SMTP, from_addr: str, to_addrs: list[str], msg: bytes,
              mail_options, rcpt_options, before_data: Callable[[], None] | None) -> None:
    """`smtplib.SMTP.sendmail` (same commands, answers and exceptions) with a hook before
    DATA: the server accepts a message only at the end of its DATA, so whatever
    `before_data` waits for is done before this message can have been delivered."""
    host.ehlo_or_helo_if_needed()
    options = []
    if host.does_esmtp:
        if host.has_extn("size"):
            options.append(f"size={len(msg)}")
        options.extend(mail_options)
    code, answer = host.mail(from_addr, options)
    if code != 250:
        _reset(host, code)
        raise smtplib.SMTPSenderRefused(code, answer, from_addr)
    refused = {}
    for address in to_addrs:
        code, answer = host.rcpt(address, rcpt_options)
        if code not in (250, 251):
            refused[address] = (code, answer)
        if code == 421:
            host.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(to_addrs):
        _reset(host, 250)
        raise smtplib.SMTPRecipientsRefused(refused)
    if before_data is not None:
        before_data()
    # host.data raises SMTPDataError itself when the DATA command is refused (the session,
    # not this message); an answer other than 250 after the content refuses the message.
    code, answer = host.data(msg)
    if code != 250:
        _reset(host, code)
        raise MessageRefused(code, answer)


class MessageRefused(smtplib.SMTPDataError):
    """The server's answer after the message's content was sent, other than 250."""


def _reset(host: smtplib.SMTP, code: int) -> None:
    """After a refusal, as smtplib does: 421 closes the connection, anything else RSETs."""
    if code == 421:
        host.close()
        return
    try:
        host.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


# 5xx answers that refuse the message's content itself: 552 exceeded storage (too big) and
# 554 transaction failed (content / spam policy). Enhanced codes 5.6.x (media, content) and
# 5.3.4 (too big) name the message whatever the basic code.
_CONTENT_CODES = frozenset({552, 554})


def _enhanced(answer) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return text.split(None, 1)[0] if text.strip() else ""


def _refuses_recipient(code: int, answer) -> bool:
    """A 5xx to RCPT about the mailbox (550/551/553 no such user...). 530 (authentication
    required) and 5.7.x (relay denied, policy) are answers to the shop, not to the address."""
    return code >= 500 and code != 530 and not _enhanced(answer).startswith("5.7.")


def _refuses_content(code: int, answer) -> bool:
    enhanced = _enhanced(answer)
    if code < 500 or code == 530:
        return False
    return (code in _CONTENT_CODES or enhanced.startswith("5.6.") or enhanced == "5.3.4")


def _permanent(exc: BaseException) -> bool:
    """A failure that says this message will never go out as it is, counted toward
    MAIL_MAX_ATTEMPTS (retrying it until MAIL_GIVE_UP_AFTER would only hammer the server):

    - a header that cannot be sent (BadHeaderError);
    - every recipient refused at RCPT with a 5xx about the mailbox (`_refuses_recipient`);
    - the message refused after its DATA (`MessageRefused`) for its content or size
      (552, 554, enhanced 5.6.x or 5.3.4: `_refuses_content`).

    Everything else is the server or the shop's set-up and is retried with the backoff
    until MAIL_GIVE_UP_AFTER, shown meanwhile by `delivery_trouble()`: a server that is down,
    drops the connection or answers 4xx; a 5xx to HELO, to the login, to MAIL FROM
    (530 authentication required, 550 relay denied: every message would get it), to the
    DATA command, or a 530 / 5.7.x (relay, policy) answer to RCPT or after DATA."""
    if isinstance(exc, BadHeaderError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(
            isinstance(answer, tuple) and _refuses_recipient(int(answer[0]), answer[1])
            for answer in exc.recipients.values())
    if isinstance(exc, MessageRefused):
        return _refuses_content(int(exc.smtp_code), exc.smtp_error)
    return False


class _DriverStatement:
    """A Core statement compiled once for this connection's dialect and run straight on the
    DBAPI cursor, each parameter through its column type's bind processor. Only for the
    sender's autocommit connection, where each statement is its own transaction."""

    def __init__(self, connection: sa.Connection, stmt: sa.Executable) -> None:
        dialect = connection.dialect
        compiled = stmt.compile(dialect=dialect)
        self.connection = connection
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = list(compiled.positiontup or []) if compiled.positional else None
        self.fixed = compiled.construct_params()
        self.processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                           for name, bind in compiled.binds.items()}

    def execute(self, **values) -> int:
        params = {**self.fixed, **values}
        for name, process in self.processors.items():
            if process is not None and name in params:
                params[name] = process(params[name])
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            if self.positional:
                cursor.execute(self.sql, tuple(params[name] for name in self.names))
            else:
                cursor.execute(self.sql, params)
            return cursor.rowcount
        finally:
            cursor.close()


class _Pass:
    """The writes of one sender pass, each matched to the pass's lease (see `_claim`)."""

    def __init__(self, connection: sa.Connection, lease: datetime, report: DeliveryReport,
                 max_attempts: int, give_up_after: timedelta) -> None:
        self.connection = connection
        self.lease = lease
        self.report = report
        self.max_attempts = max_attempts
        self.give_up_after = give_up_after
        self._sent_sql: _DriverStatement | None = None

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
        once per pass and run on the driver's cursor. Through SQLAlchemy each such UPDATE
        cost ~650 Python calls (cache key, compile lookup, result), which on this 2-core
        machine was most of what separated recording per message from recording per five."""
        if self._sent_sql is None:
            self._sent_sql = _DriverStatement(self.connection, sa.update(_outbox).where(
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
      (`_claim`); no two senders ever hold the same message.
    - Send-time checks (opt-outs, cancelled demands...) run once for the batch, one query per
      kind; unwanted messages are cancelled in one statement.
    - Send: one SMTP connection for the batch (reconnected if the server drops it). A
      message that fails is retried later with capped backoff (`RETRY_DELAYS`) until
      MAIL_GIVE_UP_AFTER has passed since it was queued, or, when the server refused it
      outright (its recipient or content, not the shop: `_permanent`), after
      MAIL_MAX_ATTEMPTS; then it is marked
      failed for staff to see and resend. It never stops the rest of the batch. If the lease
      is about to run out (a very slow server), the rest of the batch is handed back unsent
      instead of risking a second sender taking it while this one still sends.
    - Record: each message the SMTP server accepted is marked sent at once, one
      autocommitted statement (MAIL_RECORD_EVERY = 1, the default; a larger value records
      in groups of that size or per RECORD_SECONDS, whichever comes first, and always
      before a failure is recorded). These commits are cheap (SQLite WAL +
      synchronous=NORMAL, PostgreSQL synchronous_commit off, on the sender's connection
      only; see `_sender_connection`); bench/mail_sender.py measures their cost.

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
    with _sender_connection() as connection:
        now = utcnow()
        lease = now + timedelta(seconds=lease_seconds)
        rows = _claim(connection, limit, now, lease)
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
    unwanted, broken = _run_checks(rows)
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
                    bookkeeping.failed(todo[index:], _error_text(exc))
                    break
            try:
                _send(smtp, _message_for(row), before_data=recorder.wait)
            except Exception as exc:
                record_now()
                bookkeeping.failed([row], _error_text(exc), permanent=_permanent(exc))
                if not _smtp_alive(smtp):
                    _close(smtp)
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
                _close(smtp)


def _smtp_alive(connection) -> bool:
    try:
        return connection.host is None or connection.host.noop()[0] == 250
    except Exception:
        return False


def _close(connection) -> None:
    try:
        connection.__exit__(None, None, None)
    except Exception:
        log.debug("closing SMTP connection failed", exc_info=True)


def resend(mail_id: int) -> OutboxMail:
    """Put a failed or cancelled message back in the queue, as staff asked. Flushes only.
    Raises InvalidInput for the mail of an erased person (its address is at erased.invalid):
    it stays as erasure left it, as in `retry_failed`."""
    from app.core.errors import InvalidInput, NotFound
    from app.membership.models import is_erased_address

    row = db.session.get(OutboxMail, mail_id)
    if row is None:
        raise NotFound("No such message.")
    if is_erased_address(row.to_email):
        raise InvalidInput(_("This message was to a person whose data was erased: it cannot be "
                             "sent again."))
    now = utcnow()
    row.status = MailStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.requeued_at = now  # retried for another MAIL_GIVE_UP_AFTER from now
    row.claimed_until = None
    db.session.flush()
    mail_queued()
    return row


def retry_failed(*conditions: sa.ColumnElement[bool]) -> int:
    """Put every failed message matching `conditions` (the mail log's filter) back in the
    queue, in one statement; how many. Never the mail of an erased person (its address is
    at erased.invalid): it stays as erasure left it. Flushes only."""
    from app.membership.models import ERASED_EMAIL_DOMAIN

    now = utcnow()
    result = db.session.execute(
        sa.update(OutboxMail)
        .where(OutboxMail.status == MailStatus.FAILED, *conditions,
               ~sa.func.lower(OutboxMail.to_email).endswith(f"@{ERASED_EMAIL_DOMAIN}"))
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=now, requeued_at=now,
                claimed_until=None)
        .execution_options(synchronize_session=False))
    count = result.rowcount or 0
    if count:
        mail_queued()
    return count


# ------------------------------------------------------------------ is the server refusing?


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


# ------------------------------------------------------------------------ waking the senders

# PostgreSQL channel the senders LISTEN on; the enqueuing transaction NOTIFYs it.
WAKE_CHANNEL = "bookstation_mail"
_QUEUED = "bookstation.mail_queued"  # Session.info key: this transaction queued mail
_queued_here = threading.Event()  # set after a commit in this process queued mail


def mail_queued() -> None:
    """Say that the current transaction queued mail (enqueue and resend call it; so does a
    bulk writer of outbox rows): when it commits, the senders wake at once instead of at
    their next poll. A rolled-back transaction wakes no one."""
    db.session.info[_QUEUED] = True


@sa.event.listens_for(Session, "before_commit")
def _notify_senders(session: Session) -> None:
    # NOTIFY is transactional: PostgreSQL delivers it to the listeners at the commit, once
    # per transaction however many mails were queued.
    if session.info.get(_QUEUED) and session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(WAKE_CHANNEL, "")))


@sa.event.listens_for(Session, "after_commit")
def _wake_senders_here(session: Session) -> None:
    if session.info.pop(_QUEUED, None):
        _queued_here.set()


@sa.event.listens_for(Session, "after_rollback")
def _forget_queued(session: Session) -> None:
    session.info.pop(_QUEUED, None)


class SenderWakeup:
    """What an idle sender waits on: mail queued in this process (an event set after the
    commit) and, on PostgreSQL, a NOTIFY from any process, heard on a connection of its own
    that LISTENs. Waits at most the poll interval, so retries coming due are still found.
    Use as a context manager (the listening connection is closed at the end)."""

    SLICE = 0.25  # how often a wait looks at `stop`

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.listens = engine.dialect.name == "postgresql"
        self._conn = None  # the driver connection that LISTENs (PostgreSQL)

    def __enter__(self) -> SenderWakeup:
        return self

    def __exit__(self, *exc_info) -> None:
        self._drop()

    def arm(self) -> None:
        """Forget earlier wake-ups; call before a pass, so mail queued during it counts."""
        _queued_here.clear()
        if self.listens:
            self._listen()
            if self._conn is not None:
                self._drain(0)

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """Sleep until mail is queued, `stop` is set or `timeout` passes; True if woken."""
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            step = min(left, self.SLICE)
            if _queued_here.is_set():
                return True
            if self._conn is not None:
                if self._drain(step):
                    return True
            elif _queued_here.wait(step):
                return True
        return False

    def _listen(self) -> None:
        if self._conn is not None:
            return
        try:
            pooled = self.engine.raw_connection()
            conn = pooled.driver_connection
            pooled.detach()  # never back to the pool: it keeps LISTENing
            conn.rollback()
            conn.autocommit = True
            conn.execute(f"LISTEN {WAKE_CHANNEL}")  # a constant name, no user input
            self._conn = conn
        except Exception:  # no listener: the poll interval still finds the mail
            log.warning("mail sender cannot LISTEN; polling only", exc_info=True)
            self._conn = None

    def _drain(self, timeout: float) -> bool:
        """Wait up to `timeout` for notifications, taking every one already there."""
        try:
            heard = False
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                heard = True
            if heard:  # the rest of a burst of commits: one pass serves them all
                for _ in self._conn.notifies(timeout=0):
                    pass
            return heard
        except Exception:
            log.warning("mail sender's LISTEN connection broke; reconnecting", exc_info=True)
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing the LISTEN connection failed", exc_info=True)
            self._conn = None
