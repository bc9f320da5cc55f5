"""Mail commands: the outbox sender (`flask mail-worker`) and the local catcher."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.extensions import db
from app.mailcatcher import start_catcher
from app.services.mail import deliver_due

log = logging.getLogger(__name__)

# Run (in an app context, before delivering) on every pass of a sender; a feature appends its
# own, e.g. the demand feature's hold expiry (app.commands.demand). Each commits its own work.
SENDER_PASS_HOOKS: list[Callable[[], None]] = []


def run_sender(app: Flask, stop: threading.Event, interval: float = 1.0,
               batch: int | None = None) -> None:
    """Deliver due mail until `stop` is set; sleeps `interval` seconds when nothing is due.

    Safe to run in many processes on many machines at once (see app.services.mail).
    """
    while not stop.is_set():
        try:
            with app.app_context():
                for hook in SENDER_PASS_HOOKS:
                    hook()
                report = deliver_due(batch)
                db.session.remove()
        except Exception:  # a database hiccup must not kill the sender; try again shortly
            log.exception("mail sender pass failed")
            report = None
        if report is None or report.claimed == 0:
            stop.wait(interval)


@click.command("mail-worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=None,
              help="Messages claimed per pass (default MAIL_BATCH_SIZE).")
@with_appcontext
def mail_worker(once: bool, interval: float, batch: int | None) -> None:
    """Send queued mail from the outbox. Run as many as you like, anywhere."""
    app = current_app._get_current_object()
    if once:
        for hook in SENDER_PASS_HOOKS:
            hook()
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
