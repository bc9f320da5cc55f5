"""CLI commands, one module per concern."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from app.analytics.cli import analytics, enqueue_campaigns_on_sender_pass
    from app.demand.cli import demand, expire_holds_on_sender_pass
    from app.dev import dev
    from app.grades.cli import tiers
    from app.mail.cli import SENDER_PASS_HOOKS, mail_catcher, mail_worker
    from app.membership.cli import create_admin
    from app.seed.cli import seed

    commands: list[click.Command] = [dev, mail_worker, mail_catcher, create_admin, seed,
                                     tiers, demand, analytics]
    for hook in (expire_holds_on_sender_pass, enqueue_campaigns_on_sender_pass):
        if hook not in SENDER_PASS_HOOKS:
            SENDER_PASS_HOOKS.append(hook)
    return commands
