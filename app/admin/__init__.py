"""Admin: the staff area. One guard covers every route, so a new page cannot forget it.

The views are split by area into modules on this one blueprint (views.py for the dashboard,
books.py, categories.py, orders.py, mail_log.py). A later area adds a module, calls
`register_nav(...)` for its sidebar entry, and imports the module at the bottom of this file;
the guard and the layout (templates/admin/base.html) come with the blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from app.admin.common import admin_only_methods, is_admin
from app.membership.models import Role
from app.serving import page_cache

bp = Blueprint("admin", __name__)


@bp.before_request
def require_staff():
    """Anonymous visitors go to the login page; logged-in non-staff get 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
    if not current_user.has_role(Role.STAFF):
        abort(403)
    return None


# --------------------------------------------------------------------------- sidebar


@dataclass(frozen=True)
class NavItem:
    """One sidebar entry; it is highlighted on every page served by the same module."""

    endpoint: str
    label: object  # a lazy string, translated when rendered
    module: str
    order: int


_NAV: list[NavItem] = []


def register_nav(module: str, endpoint: str, label: object, *, order: int) -> None:
    """Add a sidebar entry for the views in `module` (pass `__name__`); lower orders go first."""
    if any(item.endpoint == endpoint for item in _NAV):
        return
    _NAV.append(NavItem(endpoint=endpoint, label=label, module=module, order=order))
    _NAV.sort(key=lambda item: item.order)


def _current_module() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "__module__", None)


@bp.context_processor
def admin_navigation() -> dict:
    return {"admin_sidebar": admin_sidebar}


def admin_sidebar() -> Markup:
    """The sidebar's HTML for this page. It depends only on the language, the page (which entry
    is current) and whether the reader is an admin, so each combination is rendered once and
    kept: its entries' links and labels were a tenth of the customer list's time."""
    admin = is_admin()
    key = (str(get_locale()), request.script_root, request.endpoint, admin)

    def render() -> str:
        entries = [(item, current) for item, current in _entries()
                   if admin or item.endpoint not in _admin_only_endpoints()]
        return render_template("admin/_sidebar.html", entries=entries)

    return page_cache.kept("admin_sidebars", key, render)


def _entries() -> list[tuple[NavItem, str | None]]:
    """(item, current) pairs; current is the aria-current value ("page", "true") or None."""
    module = _current_module()
    entries = []
    for item in _NAV:
        if request.endpoint == item.endpoint:
            current = "page"
        elif module == item.module:
            current = "true"
        else:
            current = None
        entries.append((item, current))
    return entries


def _admin_only_endpoints() -> set[str]:
    """The sidebar entries whose page only an admin may open (hidden from staff)."""
    return {endpoint for endpoint, view in current_app.view_functions.items()
            if endpoint.startswith("admin.") and "GET" in admin_only_methods(view)}


from app.admin import audit  # noqa: E402,F401
from app.analytics.web import admin_analytics as analytics  # noqa: E402,F401
from app.analytics.web import admin_satisfaction as satisfaction  # noqa: E402,F401
from app.campaigns.web import admin_campaigns as campaigns  # noqa: E402,F401
from app.catalog.web import admin_books as books  # noqa: E402,F401
from app.catalog.web import admin_categories as categories  # noqa: E402,F401
from app.crm.web import admin_customers as customers  # noqa: E402,F401
from app.crm.web import admin_dashboard as views  # noqa: E402,F401
from app.demand.web import admin_demand as demand  # noqa: E402,F401
from app.demand.web import admin_stock as stock  # noqa: E402,F401
from app.feedback.web import admin_reviews as reviews  # noqa: E402,F401
from app.grades.web import admin_tiers as tiers  # noqa: E402,F401
from app.mail.web import admin_mail_log as mail_log  # noqa: E402,F401
from app.ordering.web import admin_orders as orders  # noqa: E402,F401
