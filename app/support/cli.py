"""`flask support purge-unconfirmed`: forget visitors' contact forms never confirmed."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.core.extensions import db
from app.support import contact


@click.group("support")
def support() -> None:
    """Service cases."""


@support.command("purge-unconfirmed")
@with_appcontext
def purge_unconfirmed_command() -> None:
    """Forget visitors' messages never confirmed within CASE_CONFIRM_HOURS."""
    count = contact.purge_unconfirmed()
    db.session.commit()
    click.echo(f"{count} unconfirmed message(s) purged")
