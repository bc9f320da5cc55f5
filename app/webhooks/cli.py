"""Webhook commands: `flask webhooks send`, a webhook sender (the mail sender's passes deliver
webhooks too; run this where webhooks should not wait behind mail, or for --once)."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from app.mail.cli import PassHooks, run_sender
from app.webhooks.sender import deliver_due

webhooks = AppGroup("webhooks", help="Webhooks: deliver what is queued.")


@webhooks.command("send")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", type=float, default=None,
              help="Seconds between polls when nothing wakes the sender "
                   "(default MAIL_POLL_SECONDS: 5 on PostgreSQL, 1 on SQLite).")
@click.option("--batch", type=click.IntRange(1, 10_000), default=None,
              help="Deliveries claimed per pass (default WEBHOOK_BATCH_SIZE, 50).")
def send(once: bool, interval: float | None, batch: int | None) -> None:
    """Send queued webhook deliveries. Run as many as you like, anywhere."""
    if once:
        report = deliver_due(batch)
        click.echo(f"delivered {len(report.delivered)}, failed {len(report.failed)}, "
                   f"gave up {len(report.gave_up)}, waiting with their endpoint "
                   f"{len(report.waiting)}, handed back {len(report.released)}")
        return
    app = current_app._get_current_object()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("webhook sender started")
    # The mail sender's loop (wake-ups at commit, a failing pass logged once), with this pass
    # and none of the mail sender's hooks.
    run_sender(app, stop, interval, batch, deliver=deliver_due, hooks=PassHooks([]))
    click.echo("webhook sender stopped")
