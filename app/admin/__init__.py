"""Admin: the staff area. One guard covers every route, so a new page cannot forget it.

Each feature keeps its admin pages in its own `web/admin_<area>.py`: routes on this one
blueprint, with a sidebar entry from `register_nav(...)`. The feature's `init_app` imports them
before the app registers this blueprint; the guard and the layout (templates/admin/base.html)
come with the blueprint, so a new page cannot forget either.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from app.admin.common import admin_only_methods, is_admin
from app.core.i18n import locale_name
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
    key = (locale_name(), request.script_root, request.endpoint, admin)

    def render() -> str:
        entries = [(item, current) for item, current in _entries()
                   if admin or item.endpoint not in _admin_only_endpoints()]
        return render_template("admin/_sidebar.html", entries=entries)

    return page_cache.kept("admin_sidebars", key, render)


def _entries() -> list[tuple[NavItem, str | None]]:
    """(item, current) pairs; current is the aria-current value ("page", "true") or None.

    Exactly one entry is current: the one whose address is the longest prefix of this page's
    path (/admin/customers/7 belongs to /admin/customers, not /admin/); a page under no entry
    but the dashboard's belongs to the first entry of its own module (the follow-ups list to
    Customers). "page" when it is the entry's own page, "true" for a page below it."""
    current_item = _current_item()
    return [(item, ("page" if request.endpoint == item.endpoint else "true")
             if item is current_item else None) for item in _NAV]


def _current_item() -> NavItem | None:
    path = request.path
    best: NavItem | None = None
    best_length = -1
    for item in _NAV:
        try:
            prefix = url_for(item.endpoint).rstrip("/")
        except Exception:  # noqa: BLE001 - an entry whose page needs arguments never matches
            continue
        if (path.rstrip("/") == prefix or path.startswith(prefix + "/")) \
                and len(prefix) > best_length:
            best, best_length = item, len(prefix)
    dashboard_only = best is not None and best_length <= len(url_for("admin.dashboard").rstrip("/"))
    if best is None or (dashboard_only and request.endpoint != best.endpoint):
        module = _current_module()
        best = next((item for item in _NAV if item.module == module), best)
    return best


def _admin_only_endpoints() -> set[str]:
    """The sidebar entries whose page only an admin may open (hidden from staff)."""
    return {endpoint for endpoint, view in current_app.view_functions.items()
            if endpoint.startswith("admin.") and "GET" in admin_only_methods(view)}


from app.admin import audit  # noqa: E402,F401
