"""Admin analysis pages: classification and lifetime value.

Everything shown is read from the latest finished snapshot (app.analytics.snapshots);
no page computes. Staff may read; only an admin may ask for a recompute (POST, CSRF): small
shops get it at once, large ones queue it for `flask analytics recompute --queued` (cron).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import PER_PAGE, admin_required, page_number
from app.analytics import markov, report_charts, reports, snapshots
from app.analytics import segments as seg
from app.core import charts
from app.core.exports import csv_response
from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.core.paging import PagerMixin

AT_RISK_LIST = 50


@dataclass(frozen=True)
class Pager(PagerMixin):
    """What the pager macro reads."""

    page: int
    total: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))



class RecomputeForm(AppForm):
    """Only the CSRF token."""


def customer_link(member_id: int) -> str:
    """The customer record when that page exists, else the member's grade page."""
    for endpoint in ("admin.customer", "admin.member_grade"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, member_id=member_id)
    return "#"


@bp.app_template_global("segment_label")
def segment_label(code: str) -> str:
    return seg.label(code)


def _common(run) -> dict:
    return {
        "run": run,
        "pending": reports.pending_run(),
        "form": RecomputeForm(),
        "customer_link": customer_link,
        "advice": seg.ADVICE,
    }


@bp.route("/analytics")
def analytics():
    run = snapshots.latest_run()
    overview = reports.overview(run, AT_RISK_LIST) if run else None
    chart = charts.bar_chart(
        "chart-segments", _("Members per RFM segment"),
        report_charts.segment_points(overview.segments) if overview else [],
        value_label=_("Members"), category_label=_("Segment"),
        description=_("The same numbers are in the table below and in the CSV file."),
        empty_text=_("No segments yet.")) if overview else None
    return render_template("admin/analytics/index.html", title=_l("Segments and value"),
                           overview=overview, segment_chart=chart,
                           drop=float(snapshots.setting("ANALYTICS_AT_RISK_DROP")),
                           **_common(run))


@bp.route("/analytics/segments.csv")
def analytics_segments_csv():
    """The numbers behind the RFM segment chart."""
    run = snapshots.latest_run()
    segments = reports.overview(run, 0).segments if run else []
    return csv_response(report_charts.segment_rows(segments), "rfm-segments.csv")


@bp.route("/analytics/migration")
def analytics_migration():
    run = snapshots.latest_run()
    context = {}
    if run is not None:
        chain, months_used = snapshots.chain_for(run)
        sizes = reports.current_sizes(run)
        months = int(snapshots.setting("ANALYTICS_PROJECTION_MONTHS"))
        context = {
            "chain": chain,
            "months_used": months_used,
            "sizes": sizes,
            "projection": markov.project(chain, sizes, months),
            "history": reports.month_sizes(run, 12),
        }
    return render_template("admin/analytics/migration.html", title=_l("Segment migration"),
                           **context, **_common(run))


@bp.route("/analytics/segments/<code>")
def analytics_segment(code: str):
    if code not in seg.SEGMENTS:
        abort(404)
    run = snapshots.latest_run()
    page = page_number()
    rows, total = reports.segment_members(run, code, page, PER_PAGE) if run else ([], 0)
    if page > 1 and not rows:
        abort(404)
    return render_template("admin/analytics/segment.html", title=seg.label(code), code=code,
                           rows=rows, total=total, pagination=Pager(page, total, PER_PAGE),
                           **_common(run))


@bp.route("/analytics/recompute", methods=["POST"])
@admin_required
def analytics_recompute():
    form = RecomputeForm()
    if not form.validate_on_submit():
        abort(400)
    limit = int(snapshots.setting("ANALYTICS_INLINE_MAX_MEMBERS"))
    actor = current_user._get_current_object()
    if snapshots.member_count() <= limit:
        run = snapshots.recompute(actor=actor)
        flash(_("Recomputed: %(members)d members as of now.", members=run.members), "success")
    else:
        snapshots.request_recompute(actor)
        flash(_("Recompute queued; it runs within a few minutes "
                "(flask analytics recompute --queued)."), "success")
    return redirect(url_for("admin.analytics"))


register_nav(__name__, "admin.analytics", _l("Segments and value"), order=60)
