"""CLI commands, one module per concern."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from app.commands.dev import dev
    from app.commands.mail import mail_catcher, mail_worker
    from app.commands.seed import seed
    from app.commands.users import create_admin

    commands: list[click.Command] = [dev, mail_worker, mail_catcher, create_admin, seed]
    return commands
