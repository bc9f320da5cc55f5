"""CLI commands, one module per concern."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from app.analytics.cli import analytics
    from app.api.cli import api_token
    from app.crm.cli import tasks
    from app.demand.cli import demand
    from app.dev import dev
    from app.grades.cli import tiers
    from app.mail.cli import mail_catcher, mail_worker
    from app.membership.cli import create_admin, members_group
    from app.seed.cli import seed
    from app.support.cli import support
    from app.webhooks.cli import webhooks

    return [dev, mail_worker, mail_catcher, create_admin, seed, tiers, demand, analytics,
            support, webhooks, api_token, tasks, members_group]
