"""The admin dashboard (key figures, charts with their numbers as tables and CSV, follow-ups
due), and what every admin page's layout needs to know about roles."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import is_admin
from app.core import charts
from app.core.exports import csv_response
from app.core.formatting import money
from app.core.i18n import lazy_gettext as _l
from app.crm import interactions
from app.crm import stats as admin_stats
from app.grades.labels import tier_label
from app.mail import mail_log as mail_service
from app.ordering import orders
from app.returns import figures as returns_figures
from app.support import figures as case_figures

FOLLOW_UPS_SHOWN = 20


@bp.context_processor
def admin_roles() -> dict:
    """`is_admin()` for templates: hide admin-only controls from staff (the server refuses
    them anyway)."""
    return {"is_admin": is_admin}


def _stats() -> admin_stats.Dashboard:
    return admin_stats.dashboard(current_app.config["LOW_STOCK_THRESHOLD"],
                                 cache_seconds=current_app.config["DASHBOARD_CACHE_SECONDS"])


def _charts(stats: admin_stats.Dashboard) -> dict[str, object]:
    table_note = _("The numbers are in the table below the chart.")
    return {
        "revenue": charts.column_chart(
            "chart-revenue", _("Revenue per day, last 30 days"),
            [(d.day.strftime("%d"), d.revenue) for d in stats.series],
            value_label=_("Revenue (%(currency)s)",
                          currency=current_app.config["SHOP_CURRENCY"]),
            category_label=_("Day of the month (UTC)"), description=table_note,
            fmt=money, label_every=3),
        "orders": charts.column_chart(
            "chart-orders", _("Orders per day, last 30 days"),
            [(d.day.strftime("%d"), d.orders) for d in stats.series],
            value_label=_("Orders placed"), category_label=_("Day of the month (UTC)"),
            description=table_note, label_every=3),
        "tiers": charts.bar_chart(
            "chart-tiers", _("Members per tier"),
            [(tier_label(t), t.members) for t in stats.tiers],
            value_label=_("Members"), category_label=_("Tier"), description=table_note,
            empty_text=_("No members yet.")),
        "demanded": charts.bar_chart(
            "chart-demanded", _("Most demanded books"),
            [(b.title, b.count) for b in stats.top_demanded],
            value_label=_("Readers waiting"), category_label=_("Book"),
            description=table_note, empty_text=_("No open demands.")),
        "sellers": charts.bar_chart(
            "chart-sellers", _("Top sellers, last 30 days"),
            [(b.title, b.count) for b in stats.top_sellers],
            value_label=_("Copies sold"), category_label=_("Book"), description=table_note,
            empty_text=_("Nothing sold in the last 30 days.")),
    }


@bp.route("/")
def dashboard():
    stats = _stats()
    follow_ups = interactions.follow_ups_due(stats.now.date())
    return render_template(
        "admin/dashboard.html", stats=stats, charts=_charts(stats),
        follow_ups=follow_ups[:FOLLOW_UPS_SHOWN], follow_ups_total=len(follow_ups),
        me=current_user.id, title=_l("Dashboard"), status_label=orders.status_label,
        returns=returns_figures.dashboard_card(stats.now),
        case_figures=case_figures.case_figures(), case_hours=case_figures.hours,
        case_window_days=case_figures.WINDOW_DAYS,
        mail_trouble=mail_service.delivery_trouble(),
        mail_give_up_hours=int(
            current_app.config["MAIL_GIVE_UP_AFTER"].total_seconds() // 3600))


@bp.route("/dashboard/<chart>.csv")
def dashboard_csv(chart: str):
    """The numbers behind one of the dashboard's charts (figures, sales, tiers, demanded,
    sellers) as CSV."""
    if chart not in admin_stats.CHARTS:
        abort(404)
    return csv_response(admin_stats.chart_rows(_stats(), chart), f"dashboard-{chart}.csv")


register_nav(__name__, "admin.dashboard", _l("Dashboard"), order=0)
