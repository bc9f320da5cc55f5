"""Admin: satisfaction and loyalty, and the reorder forecast. Staff may read both.

The figures come from snapshots computed by `flask analytics feedback`
(app.analytics.satisfaction / forecast); only the list of comments needing attention
is read live (two small indexed queries), so the pages stay fast on a large shop.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from app.admin import bp, register_nav
from app.analytics import forecast, satisfaction
from app.analytics.feedback_snapshots import load_snapshot
from app.core.i18n import lazy_gettext as _l
from app.support import figures as case_figures


@bp.route("/satisfaction")
def satisfaction_report():
    sat = load_snapshot(satisfaction.SATISFACTION_KEY)
    loyalty = load_snapshot(satisfaction.LOYALTY_KEY)
    return render_template(
        "admin/satisfaction/index.html",
        sat=sat.payload if sat else None,
        loyalty=loyalty.payload if loyalty else None,
        computed_at=(sat or loyalty).computed_at if (sat or loyalty) else None,
        attention=satisfaction.needing_attention(),
        customer_url=satisfaction.customer_url,
        case_figures=case_figures.case_figures(), case_hours=case_figures.hours,
        case_window_days=case_figures.WINDOW_DAYS,
        title=_("Satisfaction and loyalty"),
    )


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
