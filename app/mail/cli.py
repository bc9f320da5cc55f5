"""Mail commands: the outbox sender (`flask mail-worker`) and the local catcher."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.core.extensions import db
from app.mail.catcher import start_catcher
from app.mail.sender import deliver_due
from app.mail.wakeup import SenderWakeup

log = logging.getLogger(__name__)

# Run (in an app context, before delivering) on every pass of a sender; a feature adds its
# own from its init_app (`add_sender_pass_hook`), e.g. the demand feature's hold expiry. Each
# commits its own work.
# A hook that raises is rolled back, logged once, and left out for a while (`PassHooks`):
# it never stops the other hooks or the mail.
SENDER_PASS_HOOKS: list[Callable[[], None]] = []


def add_sender_pass_hook(hook: Callable[[], None]) -> None:
    """Run `hook` on every sender pass (a feature's `init_app` adds its own; idempotent)."""
    if hook not in SENDER_PASS_HOOKS:
        SENDER_PASS_HOOKS.append(hook)


# Seconds a failing hook is left out after its n-th failure in a row (the last repeats).
HOOK_RETRY_DELAYS = [1, 5, 15, 60, 300]


@dataclass
class _Streak:
    failures: int = 0
    next_try: float = 0.0


class PassHooks:
    """Runs SENDER_PASS_HOOKS, each on its own: a hook that raises is rolled back and tried
    again after a growing delay (HOOK_RETRY_DELAYS), its first failure of a streak is logged
    with the traceback, later ones only at debug level, and its recovery once."""

    def __init__(self, hooks: list[Callable[[], None]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hooks = SENDER_PASS_HOOKS if hooks is None else hooks
        self.clock = clock
        self.streaks: dict[Callable[[], None], _Streak] = {}

    def run(self) -> None:
        for hook in list(self.hooks):
            streak = self.streaks.setdefault(hook, _Streak())
            if self.clock() < streak.next_try:
                continue
            try:
                hook()
            except Exception:
                _rollback()
                streak.failures += 1
                delay = HOOK_RETRY_DELAYS[min(streak.failures, len(HOOK_RETRY_DELAYS)) - 1]
                streak.next_try = self.clock() + delay
                if streak.failures == 1:
                    log.exception("sender pass %s failed; retrying with backoff (mail goes on)",
                                  _name(hook))
                else:
                    log.debug("sender pass %s failed again (%d in a row)", _name(hook),
                              streak.failures, exc_info=True)
            else:
                if streak.failures:
                    log.warning("sender pass %s works again after %d failure(s)", _name(hook),
                                streak.failures)
                streak.failures, streak.next_try = 0, 0.0


def _name(hook: Callable) -> str:
    return f"{getattr(hook, '__module__', '?')}.{getattr(hook, '__qualname__', hook)!s}"


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; remove() below starts afresh
        log.debug("rollback after a failed sender pass failed", exc_info=True)


def poll_seconds(app: Flask) -> float:
    """How long an idle sender sleeps when nothing wakes it (MAIL_POLL_SECONDS; by default
    5 s where queued mail wakes it from any process, PostgreSQL, else 1 s)."""
    configured = app.config.get("MAIL_POLL_SECONDS")
    if configured:
        return float(configured)
    with app.app_context():
        return 5.0 if db.engine.dialect.name == "postgresql" else 1.0


def run_sender(app: Flask, stop: threading.Event, interval: float | None = None,
               batch: int | None = None, *, deliver: Callable[[int | None], Any] = deliver_due,
               hooks: PassHooks | None = None) -> None:
    """Deliver due mail until `stop` is set. When nothing is due it sleeps until mail is
    queued (see app.mail.wakeup.SenderWakeup) or `interval` seconds pass (default
    `poll_seconds`), for retries coming due.

    Safe to run in many processes on many machines at once (see app.mail.sender). Each
    pass hook is isolated (`PassHooks`); a failing delivery pass is logged once per streak.
    Another durable queue may run the same loop with its own `deliver(batch)` (a pass whose
    report has `claimed`) and `hooks` (e.g. `PassHooks([])`): `flask webhooks send` does.
    """
    interval = interval if interval is not None else poll_seconds(app)
    hooks = hooks if hooks is not None else PassHooks()
    failing = 0
    with app.app_context():
        engine = db.engine
    with SenderWakeup(engine) as wakeup:
        while not stop.is_set():
            wakeup.arm()
            try:
                with app.app_context():
                    hooks.run()
                    report = deliver(batch)
                    db.session.remove()
            except Exception:  # a database hiccup must not kill the sender; try again shortly
                failing += 1
                if failing == 1:
                    log.exception("mail sender pass failed; retrying")
                else:
                    log.debug("mail sender pass failed again (%d in a row)", failing,
                              exc_info=True)
                report = None
            else:
                if failing:
                    log.warning("mail sender works again after %d failed pass(es)", failing)
                failing = 0
            if report is None or report.claimed == 0:
                wakeup.wait(interval, stop)


@click.command("mail-worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", type=float, default=None,
              help="Seconds between polls when no queued mail wakes the sender "
                   "(default MAIL_POLL_SECONDS: 5 on PostgreSQL, 1 on SQLite).")
@click.option("--batch", type=click.IntRange(1, 10_000), default=None,
              help="Messages claimed per pass (default MAIL_BATCH_SIZE).")
@with_appcontext
def mail_worker(once: bool, interval: float | None, batch: int | None) -> None:
    """Send queued mail from the outbox. Run as many as you like, anywhere."""
    app = current_app._get_current_object()
    if once:
        PassHooks().run()
        report = deliver_due(batch)
        click.echo(f"sent {len(report.sent)}, failed {len(report.failed)}, "
                   f"gave up {len(report.gave_up)}, cancelled {len(report.cancelled)}, "
                   f"handed back {len(report.released)}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"mail worker started (SMTP {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']})")
    run_sender(app, stop, interval, batch)
    click.echo("mail worker stopped")


@click.command("mail-catcher")
@click.option("--port", default=None, type=int, help="Port to listen on (default MAIL_PORT).")
@with_appcontext
def mail_catcher(port: int | None) -> None:
    """Run a local SMTP server that saves every message for the admin's Mail catcher page."""
    directory = current_app.config["MAIL_CATCHER_DIR"]
    port = port or current_app.config["MAIL_PORT"]
    controller = start_catcher(directory, port=port)
    click.echo(f"mail catcher on 127.0.0.1:{port}, saving to {directory}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
