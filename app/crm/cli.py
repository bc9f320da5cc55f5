"""`flask tasks digest`: the daily mail of open and overdue tasks to each staff member."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.core.extensions import db


@click.group("tasks")
def tasks() -> None:
    """Staff tasks (follow-ups on customers)."""


@tasks.command("digest")
@with_appcontext
def digest_command() -> None:
    """Mail each staff member their open and overdue tasks (once a day, however often run)."""
    from app.crm.task_digest import send_digests

    count = send_digests()
    db.session.commit()
    click.echo(f"{count} digest(s) queued")
