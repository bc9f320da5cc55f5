"""Plain helpers shared by the tests: threads that race, a real SMTP server up or down, waiting,
emptying the PostgreSQL test database.

Fixtures live in the conftest files; page-driving helpers (log in, CSRF tokens) in tests/pages.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app.core.db import utcnow
from app.core.extensions import db
from app.mail.sender import deliver_due
from app.models import OutboxMail

# --------------------------------------------------------------------------- threads


def run_at_once(work: Callable[..., Any], calls: Iterable[tuple], *,
                wait_timeout: float | None = 10,
                join_timeout: float | None = 60) -> list[BaseException]:
    """Run `work(meet, *args)` on a thread of its own for each `args` in `calls`; wait for all.

    Each thread calls `meet()` at the point where the race should begin: a `threading.Barrier`
    holds it there until every thread has arrived, so what follows runs at the same moment in
    all of them. `meet` gives up after `wait_timeout` seconds (None: never) with
    `threading.BrokenBarrierError`. Each thread is joined for up to `join_timeout` seconds
    (None: until it ends).

    Returns what the threads raised, in the order they raised it (empty when none did); the
    caller asserts on it, as an exception in a thread does not fail the test by itself.
    """
    calls = list(calls)
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def meet() -> None:
        barrier.wait(timeout=wait_timeout)

    def run(args: tuple) -> None:
        try:
            work(meet, *args)
        except BaseException as exc:  # handed to the caller to assert on
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(args,)) for args in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    return errors


def wait_until(condition: Callable[[], Any], timeout: float, what: str, *,
               interval: float = 0.05) -> None:
    """Poll `condition` every `interval` seconds until it is true; after `timeout` seconds
    raise AssertionError("timed out waiting for <what>")."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- SMTP


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    port: int = 0
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for _, _, raw in self.messages]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def point_mail_at(app, port: int) -> None:
    """Send `app`'s mail to 127.0.0.1:`port` from now on (the config and Flask-Mail both)."""
    app.config["MAIL_PORT"] = port
    app.extensions["mail"].port = port


def smtp_down(app) -> int:
    """Point `app`'s mail at a free port where nothing listens: every delivery fails to
    connect, as when the mail server is down. Returns the port, so that a test can bring the
    server up there later (`start_smtp(Inbox(port=port))`)."""
    port = free_port()
    point_mail_at(app, port)
    return port


def start_smtp(handler, app=None) -> Controller:
    """Start a real SMTP server (aiosmtpd) for `handler` on 127.0.0.1:`handler.port`.

    A handler whose port is 0 is given a free one first. With `app`, that app's mail is
    pointed at the server. The caller stops the returned controller.
    """
    if not handler.port:
        handler.port = free_port()
    if app is not None:
        point_mail_at(app, handler.port)
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    return controller


@contextmanager
def smtp_server(handler, app=None) -> Iterator[Any]:
    """`start_smtp(handler, app)` for the duration of the block, which receives `handler`."""
    controller = start_smtp(handler, app)
    try:
        yield handler
    finally:
        controller.stop()


def deliver_once_the_server_is_back(port: int):
    """The mail server comes back on `port` (after `smtp_down`): every queued message is made
    due at once and the outbox is delivered twice, the server running for both passes.

    Returns (the server's `Inbox`, the first pass's report, the second's). Call it inside an
    app context.
    """
    with smtp_server(Inbox(port=port)) as inbox:
        db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow()))
        db.session.commit()
        back = deliver_due()
        again = deliver_due()
    return inbox, back, again


# --------------------------------------------------------------------------- PostgreSQL


def empty_every_table() -> None:
    """TRUNCATE every table of the app's PostgreSQL database (identities restarted), then
    close the engine's connections. Call it inside the app's context."""
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)  # noqa: S608
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.engine.dispose()


# --------------------------------------------------------------------------- statements


@contextmanager
def counting_statements(app):
    """Count every SQL statement the app's engine runs inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def plans_of(app, action) -> list[str]:
    """Run `action` in an app context; return the query plan of every SELECT it ran."""
    statements: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", grab)
        try:
            action()
        finally:
            sa.event.remove(engine, "before_cursor_execute", grab)
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        plans = []
        with engine.connect() as conn:
            for statement, parameters in statements:
                if statement.lstrip().upper().startswith("SELECT"):
                    rows = conn.exec_driver_sql(prefix + statement, parameters).fetchall()
                    plans.append("\n".join(str(row[-1]) for row in rows))
        return plans


def terminate_backend(app, pid: int) -> None:
    """What a PostgreSQL restart or idle timeout does to the app's connection whose server
    process is `pid` (from a connection of its own)."""
    with app.app_context():
        other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        with other.begin() as conn:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.dispose()
