"""CLI commands, one module per concern."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from app.commands.analytics import analytics, enqueue_campaigns_on_sender_pass
    from app.commands.demand import demand, expire_holds_on_sender_pass
    from app.commands.dev import dev
    from app.commands.mail import SENDER_PASS_HOOKS, mail_catcher, mail_worker
    from app.commands.seed import seed
    from app.commands.tiers import tiers
    from app.commands.users import create_admin

    commands: list[click.Command] = [dev, mail_worker, mail_catcher, create_admin, seed,
                                     tiers, demand, analytics]
    for hook in (expire_holds_on_sender_pass, enqueue_campaigns_on_sender_pass):
        if hook not in SENDER_PASS_HOOKS:
            SENDER_PASS_HOOKS.append(hook)
    return commands
