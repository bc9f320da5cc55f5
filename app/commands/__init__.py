"""CLI commands, one module per concern."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from app.commands.dev import dev
    from app.commands.mail import mail_catcher, mail_worker

    commands: list[click.Command] = [dev, mail_worker, mail_catcher]
    return commands
