"""`flask analytics ...`: compute the analysis snapshots.

Classification and lifetime value (`recompute`): RFM segments, the monthly segment history
and its Markov chain, BG/NBD + Gamma-Gamma CLV, customer equity. Run it once a day from cron,
and every few minutes with `--queued` so a recompute asked for on the admin page (large shops)
is picked up:

    15 3 * * *   cd /srv/bookstation && .venv/bin/flask --app run analytics recompute
    */5 * * * *  cd /srv/bookstation && .venv/bin/flask --app run analytics recompute --queued

It is not hooked into the mail sender's pass: a full recompute is slow on a large shop, and
mail must not wait behind it.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.analytics import snapshots
from app.core.unit_of_work import committed

analytics = AppGroup("analytics", help="Member analytics: segments, CLV, satisfaction.")


# --------------------------------------------------------------------------- segments and CLV


@analytics.command("recompute")
@click.option("--queued", is_flag=True,
              help="Only run a recompute asked for on the admin page, if there is one.")
def recompute(queued: bool) -> None:
    """Recompute RFM segments, segment history, CLV and customer equity into snapshots."""
    if queued:
        run = snapshots.run_queued()
        if run is None:
            click.echo("No recompute queued.")
            return
    else:
        pending = snapshots.queued_run()
        with committed():
            run = snapshots.recompute(run=pending)
    timings = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in (run.timings or {}).items())
    click.echo(f"Analytics snapshot {run.id}: {run.members} members, {run.buyers} buyers "
               f"({timings}).")


# --------------------------------------------------------------------------- satisfaction,
# loyalty, associations, forecast (app.analytics.feedback_recompute: associations,
# satisfaction, forecast). Kept apart from `recompute` above.


@analytics.command("feedback")
def feedback_recompute() -> None:
    """Recompute "also bought" associations, satisfaction, cohorts and the reorder forecast."""
    from app.analytics.feedback_recompute import recompute_feedback

    with committed():
        report = recompute_feedback()
    timings = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in report.timings.items())
    click.echo(f"Feedback snapshots: {report.rules:,} association rules from "
               f"{report.buyers:,} buying members ({timings}; {report.total:.2f}s in all).")


@analytics.command("associations")
def associations_recompute() -> None:
    """Recompute only the "members who bought this also bought" snapshot."""
    from app.analytics import associations

    with committed():
        report = associations.compute()
    click.echo(f"{report.rules:,} association rules for {report.books:,} books from "
               f"{report.members:,} buying members in {report.seconds:.2f}s.")

