"""`flask create-admin`: make (or promote) a staff or admin account from the terminal;
`flask members prune-sign-ins`: forget sign-ins older than SIGN_IN_HISTORY_DAYS. The pruning
also runs on the mail sender's passes (at most once every PRUNE_EVERY_SECONDS) through
`app.mail.cli.SENDER_PASS_HOOKS`, so the history is not kept longer when no one runs the
command."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from app.core.errors import DomainError
from app.core.extensions import db
from app.membership import members, sessions
from app.membership.models import Role

PRUNE_EVERY_SECONDS = 3600.0
_last_prune: dict[str, float | None] = {"at": None}


@click.command("create-admin")
@click.option("--email", help="The account's email address (asked for when missing).")
@click.option("--name", help="The person's name (asked for when missing).")
@click.option("--password", help="The password (asked for, hidden, when missing).")
@click.option("--role", type=click.Choice([Role.STAFF.value, Role.ADMIN.value]),
              default=Role.ADMIN.value, show_default=True, help="What the account may do.")
@with_appcontext
def create_admin(email: str | None, name: str | None, password: str | None, role: str) -> None:
    """Create an admin (or staff) account; an existing account with that email is promoted."""
    wanted = Role(role)
    email = (email or click.prompt("Email")).strip()
    existing = members.find_by_email(email)
    if existing is not None:
        _promote(existing, wanted, password_given=password is not None)
        return
    name = name or click.prompt("Name")
    if password is None:
        click.echo(members.password_rules())
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        member = members.create_member(email, password, name, role=wanted)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created {member.role.value} {member.email} (member {member.member_no}).")


def _promote(member, wanted: Role, *, password_given: bool) -> None:
    if member.has_role(wanted):
        click.echo(f"{member.email} already exists with role {member.role.value}; "
                   "nothing changed.")
        return
    previous = member.role
    member.role = wanted
    db.session.commit()
    click.echo(f"{member.email} already existed: promoted from {previous.value} "
               f"to {wanted.value}.")
    if password_given:
        click.echo("The password was left unchanged (use the password reset to change it).")


@click.group("members")
def members_group() -> None:
    """Members' accounts."""


@members_group.command("prune-sign-ins")
@with_appcontext
def prune_sign_ins_command() -> None:
    """Forget sign-ins older than SIGN_IN_HISTORY_DAYS (the customers' timelines)."""
    count = sessions.prune_sign_ins()
    db.session.commit()
    click.echo(f"{count} sign-in(s) older than {sessions.history_days()} days forgotten")


def prune_sign_ins_on_sender_pass() -> None:
    """A mail sender pass hook: forget sign-ins older than SIGN_IN_HISTORY_DAYS at most once
    every PRUNE_EVERY_SECONDS, then commit. A failure propagates to the sender's PassHooks:
    rolled back, logged once, retried with backoff."""
    now = time.monotonic()
    last = _last_prune["at"]
    if last is not None and now - last < PRUNE_EVERY_SECONDS:
        return
    _last_prune["at"] = now
    sessions.prune_sign_ins()
    db.session.commit()
