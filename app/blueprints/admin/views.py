"""The admin dashboard: today's and this week's orders, work waiting, low stock, mail trouble."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l

from app.blueprints.admin import bp, register_nav
from app.services import admin_stats, orders


@bp.route("/")
def dashboard():
    figures = admin_stats.dashboard(current_app.config["LOW_STOCK_THRESHOLD"])
    return render_template("admin/dashboard.html", stats=figures, title=_l("Dashboard"),
                           status_label=orders.status_label)


register_nav(__name__, "admin.dashboard", _l("Dashboard"), order=0)
