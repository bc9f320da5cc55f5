"""`flask api-token create EMAIL`: make a personal access token from the command line (for a
script setting up a warehouse's connection); the secret is printed once."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.api import tokens as token_rules
from app.core.extensions import db
from app.core.unit_of_work import committed
from app.membership.models import Member

api_token = AppGroup("api-token", help="Personal access tokens for the JSON API.")


@api_token.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(token_rules.SCOPES), help="Repeat for several scopes.")
@click.option("--days", type=int, default=None, help="Expire after this many days.")
def create(email: str, name: str, scopes: tuple[str, ...], days: int | None) -> None:
    """Make a token for the member with EMAIL (staff scopes for staff only)."""
    member = db.session.scalar(sa.select(Member).where(
        sa.func.lower(Member.email) == email.strip().lower()))
    if member is None:
        raise click.ClickException(f"No member has the address {email}.")
    try:
        with committed():
            new = token_rules.create_token(member, name, list(scopes), days, actor=member)
    except token_rules.TokenFieldError as error:
        raise click.ClickException(error.message) from None
    click.echo(new.secret)
