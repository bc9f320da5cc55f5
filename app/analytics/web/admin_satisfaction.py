"""Admin: satisfaction and loyalty, and the reorder forecast. Staff may read both.

The figures come from snapshots computed by `flask analytics feedback`
(app.analytics.satisfaction / forecast); only the list of comments needing attention
is read live (two small indexed queries), so the pages stay fast on a large shop.
"""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import gettext as _

from app.admin import bp, register_nav
from app.analytics import forecast, report_charts, satisfaction
from app.analytics.feedback_snapshots import load_snapshot
from app.core import charts
from app.core.exports import csv_response
from app.core.i18n import lazy_gettext as _l
from app.returns import figures as returns_figures
from app.returns import requests as return_requests
from app.support import figures as case_figures


@bp.route("/satisfaction")
def satisfaction_report():
    sat = load_snapshot(satisfaction.SATISFACTION_KEY)
    loyalty = load_snapshot(satisfaction.LOYALTY_KEY)
    described = _("The same numbers are in the table below and in the CSV file.")
    nps_points = report_charts.nps_points(sat.payload if sat else None)
    curve = report_charts.retention_curve(loyalty.payload if loyalty else None)
    return render_template(
        "admin/satisfaction/index.html",
        nps_chart=charts.line_chart(
            "chart-nps", _("NPS by month"), nps_points, value_label=_("NPS"),
            category_label=_("Month"), description=described, low=-100, high=100,
            fmt=lambda v: f"{v:.1f}", label_every=max(1, -(-len(nps_points) // 6)),
            empty_text=_("No answers yet.")) if nps_points else None,
        retention_chart=charts.line_chart(
            "chart-retention", _("Members ordering again, by months after their first order"),
            [(_("M+%(k)s", k=k), v) for k, v in curve], value_label=_("Share (%)"),
            category_label=_("Months after the first order"), description=described,
            low=0, high=100, suffix="%", fmt=lambda v: f"{v:.1f} %",
            label_every=max(1, -(-len(curve) // 7))) if curve else None,
        sat=sat.payload if sat else None,
        loyalty=loyalty.payload if loyalty else None,
        computed_at=(sat or loyalty).computed_at if (sat or loyalty) else None,
        attention=satisfaction.needing_attention(),
        customer_url=satisfaction.customer_url,
        case_figures=case_figures.case_figures(), case_hours=case_figures.hours,
        case_window_days=case_figures.WINDOW_DAYS,
        returns_report=returns_figures.returns_report(*returns_figures.last_days(90)),
        reason_label=return_requests.reason_label,
        title=_("Satisfaction and loyalty"),
    )


@bp.route("/satisfaction/<chart>.csv")
def satisfaction_csv(chart: str):
    """The numbers behind the NPS and cohort retention charts."""
    if chart == "nps":
        sat = load_snapshot(satisfaction.SATISFACTION_KEY)
        return csv_response(report_charts.nps_rows(sat.payload if sat else None), "nps.csv")
    if chart == "cohorts":
        loyalty = load_snapshot(satisfaction.LOYALTY_KEY)
        return csv_response(report_charts.cohort_rows(loyalty.payload if loyalty else None),
                            "cohort-retention.csv")
    abort(404)


@bp.route("/forecast")
def reorder_forecast():
    snap = load_snapshot(forecast.FORECAST_KEY)
    return render_template(
        "admin/satisfaction/forecast.html",
        data=snap.payload if snap else None,
        computed_at=snap.computed_at if snap else None,
        title=_("Reorder forecast"),
    )


register_nav(__name__, "admin.satisfaction_report", _l("Satisfaction"), order=62)
register_nav(__name__, "admin.reorder_forecast", _l("Reorder forecast"), order=64)
