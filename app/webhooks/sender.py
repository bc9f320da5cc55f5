"""The webhook sender: one pass claims due deliveries, POSTs each, signed, to its endpoint and
records the answer.

The discipline is the mail outbox's (app.mail.sender), on the same machinery:
- Claim: one autocommitted UPDATE ... RETURNING (app.core.claiming: `FOR UPDATE SKIP LOCKED`
  on PostgreSQL), which marks each row `sending` with a lease (`claimed_until`) for
  WEBHOOK_CLAIM_SECONDS: any number of senders on any number of machines never take one row
  twice. Every later write of the pass matches the lease, so a pass whose lease lapsed (and
  was taken over) records nothing. A sender that dies leaves its rows `sending`; they are due
  again once the lease lapses.
- Send: stdlib http.client, at most WEBHOOK_TIMEOUT seconds (10) for the whole POST (a
  watchdog shuts the socket at the deadline, so a receiver dribbling its answer cannot hold
  it longer), no redirects followed. A POST starts only while the lease has more than the
  timeout (and a little time to record the answer) left, so it never outlives its claim. Headers
  Content-Type: application/json, Bookstation-Event, Bookstation-Delivery (the event id) and
  Bookstation-Signature (app.webhooks.signing). A 2xx answer is delivered.
- Retry: anything else is tried again after RETRY_DELAYS (30 s, 2 min, 10 min, 30 min, 2 h,
  then every 6 h) until WEBHOOK_GIVE_UP_AFTER (24 h) has passed since the event (or its
  replay); the last try is made at that deadline; then the row is failed, for an admin to
  replay. After one failure, the endpoint's other deliveries of the pass are not tried: they
  wait with it (no attempt counted), so a dead endpoint costs one timeout per pass. Order is
  not guaranteed across passes: a failed delivery retried later arrives after newer ones, and
  receivers order by the payload's times (docs/WEBHOOKS.md).
- Crash window, as for mail: a delivery POSTed whose answer was not yet recorded when the
  sender died is sent once more after its lease lapses, with the same event id
  (Bookstation-Delivery), by which a receiver recognises it. Nothing is lost.

Senders: `flask webhooks send` (a loop, or `--once`), the dedicated sender for production, and
every pass of the mail sender (`flask mail-worker`, `flask dev`), which wakes at the commit of
a transaction that queued an event (app.mail.wakeup): there a pass delivers a small batch
within WEBHOOK_PASS_SECONDS (2 s), so a slow endpoint never holds up the shop's mail.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.core.claiming import backoff, claim_due_rows
from app.core.db import utcnow
from app.mail.sender_db import sender_connection
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.signing import signature_header

log = logging.getLogger(__name__)

#: Seconds before attempt n+1 (the last repeats) until the give-up age.
RETRY_DELAYS = [30, 120, 600, 1800, 7200, 21600]
# Config's defaults (config.py reads the environment), for an app built without them.
DEFAULTS = {
    "WEBHOOK_TIMEOUT": 10,
    "WEBHOOK_BATCH_SIZE": 50,
    "WEBHOOK_CLAIM_SECONDS": 120,
    "WEBHOOK_GIVE_UP_AFTER": timedelta(hours=24),
    # The mail sender's pass hook: at most this long, and this many deliveries, per pass.
    "WEBHOOK_PASS_SECONDS": 2,
    "WEBHOOK_PASS_BATCH_SIZE": 5,
}
MIN_POST_SECONDS = 0.2  # a POST is not started with less of the pass's budget left
USER_AGENT = "Bookstation-Webhooks/1"
RECORD_SECONDS = 2  # time allowed to record a POST's answer before the claim's lease lapses
ERROR_LIMIT = 500  # characters of an error kept
BODY_LIMIT = 200  # characters of a refusing answer's body kept in the error


def setting(name: str):
    return current_app.config.get(name, DEFAULTS[name])


def retry_delay(attempts: int) -> timedelta:
    """Backoff after `attempts` failed tries (1-based)."""
    return backoff(RETRY_DELAYS, attempts)


@dataclass
class PassReport:
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # failed this attempt (may retry)
    gave_up: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # not tried: their endpoint failed
    released: list[int] = field(default_factory=list)  # not tried: the lease ran short

    @property
    def claimed(self) -> int:
        return (len(self.delivered) + len(self.failed) + len(self.waiting)
                + len(self.released))


_deliveries = WebhookDelivery.__table__
_endpoints = WebhookEndpoint.__table__
_CLAIMED = (_deliveries.c.id, _deliveries.c.endpoint_id, _deliveries.c.event_type,
            _deliveries.c.event_id, _deliveries.c.payload, _deliveries.c.attempts,
            _deliveries.c.next_attempt_at, _deliveries.c.created_at, _deliveries.c.requeued_at)


def claim(connection: sa.Connection, limit: int, now: datetime,
          lease: datetime) -> list[sa.Row]:
    """Claim up to `limit` due deliveries of active endpoints (committed): pending ones due
    now, and those left `sending` by a sender whose lease lapsed."""
    due = sa.or_(
        sa.and_(_deliveries.c.status == DeliveryStatus.PENDING.value,
                _deliveries.c.next_attempt_at <= now),
        sa.and_(_deliveries.c.status == DeliveryStatus.SENDING.value,
                _deliveries.c.claimed_until < now),
    )
    active = sa.select(_endpoints.c.id).where(_endpoints.c.active.is_(True))
    return claim_due_rows(
        connection, _deliveries, [due, _deliveries.c.endpoint_id.in_(active)],
        order_by=[_deliveries.c.next_attempt_at, _deliveries.c.id], limit=limit,
        values={"status": DeliveryStatus.SENDING.value, "claimed_until": lease},
        returning=_CLAIMED)


def _abort(connection: http.client.HTTPConnection) -> None:
    """The POST's deadline passed: shut its socket, which ends a read blocked on it."""
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def post(url: str, body: bytes, headers: dict[str, str],
         timeout: float) -> tuple[int | None, str | None]:
    """POST `body`; (status code or None, error text or None: None when 2xx). The whole POST
    (connecting, sending, reading the answer) ends within `timeout` seconds: a receiver that
    dribbles its answer is cut off at the deadline (a failure), so a POST never outlives its
    claim's lease. Redirects are answers like any other that is not 2xx: not followed. Of a
    refusing answer's body, BODY_LIMIT characters are kept."""
    deadline = time.monotonic() + timeout
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url[:100]}")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=timeout)
    except ValueError as exc:
        return None, f"ValueError: {exc}"[:ERROR_LIMIT]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    watchdog = threading.Timer(timeout, _abort, args=(connection,))
    watchdog.daemon = True
    try:
        watchdog.start()
        connection.connect()
        if time.monotonic() >= deadline:  # the watchdog fired while it connected
            raise TimeoutError
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        status = response.status
        if 200 <= status < 300:
            return status, None
        detail = response.read(BODY_LIMIT).decode("utf-8", "replace").strip()[:BODY_LIMIT]
        if time.monotonic() >= deadline:
            detail = ""
        text = f"HTTP {status} {response.reason}" + (f": {detail}" if detail else "")
        return status, text[:ERROR_LIMIT]
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if time.monotonic() >= deadline:
            return None, f"No complete answer within {timeout:g} s"
        return None, (f"{type(exc).__name__}: {exc}")[:ERROR_LIMIT]
    finally:
        watchdog.cancel()
        connection.close()


class _Pass:
    """The writes of one pass, each matched to its lease."""

    def __init__(self, connection: sa.Connection, lease: datetime, report: PassReport,
                 give_up_after: timedelta) -> None:
        self.connection = connection
        self.lease = lease
        self.report = report
        self.give_up_after = give_up_after

    def _update(self, row_id: int, **values) -> int:
        return self.connection.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.id == row_id, _deliveries.c.claimed_until == self.lease,
                   _deliveries.c.status == DeliveryStatus.SENDING.value)
            .values(claimed_until=None, **values)).rowcount

    def delivered(self, row: sa.Row, status_code: int, now: datetime) -> None:
        done = self._update(row.id, status=DeliveryStatus.DELIVERED.value,
                            attempts=row.attempts + 1, delivered_at=now, last_attempt_at=now,
                            last_status_code=status_code, last_error=None)
        if done != 1:
            log.error("webhook delivery %s was delivered after its claim lapsed", row.id)
        self.report.delivered.append(row.id)

    def failed(self, row: sa.Row, status_code: int | None, error: str,
               now: datetime) -> datetime:
        """Count a failed attempt; retry later or give up. When the endpoint is next tried."""
        attempts = row.attempts + 1
        deadline = (row.requeued_at or row.created_at) + self.give_up_after
        gave_up = now >= deadline
        following = min(now + retry_delay(attempts), deadline)
        self._update(row.id, attempts=attempts, last_attempt_at=now,
                     last_status_code=status_code, last_error=error,
                     status=(DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING).value,
                     next_attempt_at=row.next_attempt_at if gave_up else following)
        self.report.failed.append(row.id)
        if gave_up:
            self.report.gave_up.append(row.id)
        log.warning("webhook delivery %s (%s) failed: %s", row.id, row.event_type, error)
        return now + retry_delay(attempts) if gave_up else following

    def hand_back(self, row: sa.Row, into: list[int], next_attempt_at: datetime | None = None
                  ) -> None:
        """Back to pending, untried (no attempt counted); due again at `next_attempt_at`."""
        values = {"status": DeliveryStatus.PENDING.value}
        if next_attempt_at is not None and next_attempt_at > row.next_attempt_at:
            values["next_attempt_at"] = next_attempt_at
        self._update(row.id, **values)
        into.append(row.id)


def deliver_due(limit: int | None = None, now: datetime | None = None,
                budget: float | None = None) -> PassReport:
    """One pass of a webhook sender (see the module doc). `now` (default: the current time)
    is the pass's clock at its start, for tests that move time forward. With `budget`, the
    pass ends within that many seconds: each POST gets at most what is left of it (one cut
    short is a failed attempt), and deliveries not tried are handed back untouched."""
    limit = limit or setting("WEBHOOK_BATCH_SIZE")
    report = PassReport()
    timeout = float(setting("WEBHOOK_TIMEOUT"))
    # A POST ends within `timeout` (see `post`), so one started before the lease's last
    # `timeout` + RECORD_SECONDS is over, and recorded, before the lease lapses: no other
    # sender can take the row while it is being POSTed. A lease set shorter than two of those
    # margins is lengthened to fit.
    margin = timedelta(seconds=timeout + RECORD_SECONDS)
    lease_seconds = max(float(setting("WEBHOOK_CLAIM_SECONDS")),
                        2 * margin.total_seconds())
    start, started = now or utcnow(), time.monotonic()

    def clock() -> datetime:
        return start + timedelta(seconds=time.monotonic() - started)

    with sender_connection() as connection:
        lease = start + timedelta(seconds=lease_seconds)
        rows = claim(connection, limit, start, lease)
        if rows:
            bookkeeping = _Pass(connection, lease, report, setting("WEBHOOK_GIVE_UP_AFTER"))
            ends = started + budget if budget is not None else None
            _deliver(connection, rows, lease - margin, timeout, clock, bookkeeping, ends)
    return report


def _deliver(connection: sa.Connection, rows: list[sa.Row], stop_at: datetime,
             timeout: float, clock: Callable[[], datetime], bookkeeping: _Pass,
             budget_ends: float | None = None) -> None:
    report = bookkeeping.report
    endpoints = {row.id: row for row in connection.execute(
        sa.select(_endpoints.c.id, _endpoints.c.url, _endpoints.c.secret)
        .where(_endpoints.c.id.in_({row.endpoint_id for row in rows})))}
    waiting: dict[int, datetime] = {}  # endpoint id -> when it is tried again
    for row in rows:
        endpoint = endpoints.get(row.endpoint_id)
        allowed = timeout
        if budget_ends is not None:
            allowed = min(timeout, budget_ends - time.monotonic())
        if endpoint is None or clock() >= stop_at or allowed < MIN_POST_SECONDS:
            bookkeeping.hand_back(row, report.released)
            continue
        if row.endpoint_id in waiting:
            bookkeeping.hand_back(row, report.waiting, waiting[row.endpoint_id])
            continue
        body = row.payload.encode()
        sent_at = clock()
        status_code, error = post(endpoint.url, body, {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Bookstation-Event": row.event_type,
            "Bookstation-Delivery": row.event_id,
            "Bookstation-Signature": signature_header(endpoint.secret, body,
                                                      int(sent_at.timestamp())),
        }, allowed)
        if error is None:
            bookkeeping.delivered(row, status_code, clock())
        else:
            waiting[row.endpoint_id] = bookkeeping.failed(row, status_code, error, clock())


def deliver_on_sender_pass() -> None:
    """The mail sender's pass hook (app.mail.cli): deliver what is due, a small batch
    (WEBHOOK_PASS_BATCH_SIZE) within WEBHOOK_PASS_SECONDS, so a dead endpoint does not hold
    up password resets and arrival mail. `flask webhooks send` is the dedicated sender, with
    the full timeout and batch, for production."""
    deliver_due(setting("WEBHOOK_PASS_BATCH_SIZE"), budget=float(setting("WEBHOOK_PASS_SECONDS")))
