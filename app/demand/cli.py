"""`flask demand expire-holds` and `flask demand purge-unconfirmed`.

Hold expiry also runs on the mail sender's passes (at most once every
EXPIRE_EVERY_SECONDS) through `app.mail.cli.SENDER_PASS_HOOKS`.
"""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from app.core.extensions import db
from app.demand import holds, visitors

EXPIRE_EVERY_SECONDS = 30.0
_last_run = {"at": 0.0}


@click.group("demand")
def demand() -> None:
    """Demand lists: holds and visitor confirmations."""


@demand.command("expire-holds")
@with_appcontext
def expire_holds_command() -> None:
    """End lapsed holds and pass their copies to the next reader (or the shelf)."""
    total = 0
    while True:
        count = holds.expire_holds()
        db.session.commit()
        total += count
        if count == 0:
            break
    click.echo(f"{total} hold(s) lapsed")


@demand.command("purge-unconfirmed")
@with_appcontext
def purge_unconfirmed_command() -> None:
    """Forget visitor requests never confirmed within DEMAND_CONFIRM_HOURS."""
    count = visitors.purge_unconfirmed()
    db.session.commit()
    click.echo(f"{count} unconfirmed request(s) purged")


def expire_holds_on_sender_pass() -> None:
    """A mail sender pass hook: expire lapsed holds every EXPIRE_EVERY_SECONDS, then commit,
    so the next readers' mails are due at once. A failure propagates to the sender's
    PassHooks: rolled back, logged once, retried with backoff."""
    now = time.monotonic()
    if now - _last_run["at"] < EXPIRE_EVERY_SECONDS:
        return
    _last_run["at"] = now
    holds.expire_holds()
    db.session.commit()
