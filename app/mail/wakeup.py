"""Waking the senders: senders sleep while nothing is due and wake when mail is queued. The
enqueuing transaction says so (`mail_queued`), and at its commit PostgreSQL NOTIFYs every
listening sender and an in-process event wakes a sender thread in the same process
(`SenderWakeup`).
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.extensions import db

log = logging.getLogger(__name__)


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
