"""`flask seed`: load the demo data set into an empty database (a no-op once there are books)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from app.core.extensions import db
from app.core.unit_of_work import committed
from app.seed.loader import SIZES, database_has_books, seed_demo, vacuum_after_load


def _progressbar(label: str, length: int):
    return click.progressbar(length=length, label=f"  {label:<8}", show_pos=True, width=32)


@click.command("seed")
@click.option("--books-limit", type=click.IntRange(min=0), default=None,
              help="Load only the N most-rated goodbooks titles (plus the Chinese ones).")
@click.option("--size", type=click.Choice(sorted(SIZES)), default="demo", show_default=True,
              help="demo: 10k books, 300 members, ~5k orders. large: 100k books, 100k members, "
                   "~1M order lines (slow; for benchmarks).")
@click.option("--now", "now", type=click.DateTime(), default=None,
              help="Seed as if it were this UTC time (the same time gives the same data set); "
                   "default: the current time.")
@with_appcontext
def seed(books_limit: int | None, size: str, now: datetime | None) -> None:
    """Load demo books, members and two years of orders into an empty shop."""
    if database_has_books():
        click.echo("The shop already has books: nothing seeded (your data is kept).")
        return
    click.echo(f"Seeding the {size} data set...")
    with committed():
        report = seed_demo(books_limit=books_limit, size=size, progress=_progressbar,
                           now=now.replace(tzinfo=UTC) if now else None)
    click.echo(
        f"Loaded {report.books:,} books in {report.categories} categories, "
        f"{report.members:,} members, {report.orders:,} orders "
        f"({report.order_lines:,} lines) in {report.seconds:.1f} s."
    )
    # Demo reviews and survey answers, then the satisfaction/association snapshots.
    from app.seed.feedback import seed_feedback

    feedback = seed_feedback()
    db.session.commit()
    click.echo(f"Added {feedback.reviews:,} reviews and {feedback.answers:,} survey answers.")
    # Demands and arrival mails, the mail log, a sent campaign (issue 22: the admin's screens).
    from app.seed.activity import seed_activity

    activity = seed_activity((now.replace(tzinfo=UTC) if now else datetime.now(UTC))
                             .replace(microsecond=0))
    db.session.commit()
    click.echo(f"Added {activity.demands:,} demands, {activity.mails:,} sent mails and a "
               f"campaign to {activity.campaign_mailed:,} members "
               f"({activity.campaign_holdout:,} held out) in {activity.seconds:.1f} s.")
    # The first analysis (segments, lifetime value), so its pages show the demo data.
    # The large data set skips it (slow there; run `flask analytics recompute`).
    if size == "demo":
        from app.analytics import snapshots

        run = snapshots.recompute()
        db.session.commit()
        click.echo(f"Analysed {run.members:,} members (segments and lifetime value).")
    vacuum_after_load()  # PostgreSQL only: dead rows and index pending lists cleared
