"""`flask tiers recompute`: rebuild every member's qualifying spend and grade from the orders.

Run it daily when TIER_WINDOW_MONTHS is set (grades then follow orders leaving the window), and
after importing orders by hand. It is safe while the shop runs (see bulk_regrade.regrade_all).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.unit_of_work import committed
from app.grades.bulk_regrade import recompute_all

tiers = AppGroup("tiers", help="Member grades: purchase-volume tiers and discounts.")


@tiers.command("recompute")
@click.option("--mail/--no-mail", default=True, show_default=True,
              help="Congratulate members who move up.")
def recompute(mail: bool) -> None:
    """Rebuild every member's qualifying spend and grade from their orders."""
    with committed():
        report = recompute_all(notify=mail)
    noun = "member" if report.changed == 1 else "members"
    click.echo(f"{report.changed} {noun} changed grade "
               f"({report.promoted} up, {report.demoted} down).")
