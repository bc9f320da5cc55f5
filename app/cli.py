"""Command-line entry points (`flask <command>`); thin, like views: they call services."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach every command; feature modules add theirs to this list."""
    from app.commands import all_commands

    for command in all_commands():
        app.cli.add_command(command)
