"""Small helpers the admin pages share: the page number, form status, and the admin-only check.

Roles: the blueprint's guard (admin/__init__.py) lets `staff` and `admin` in; staff read and
handle customers, orders and stock. Changing tiers, roles and erasing data is for `admin` only:
such views are decorated with `admin_required` (or check `is_admin()` for a POST on a page staff
may read), so the server refuses them whatever the page shows.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

from app.membership.models import Role

MAX_PAGE = 100_000
PER_PAGE = 25


def page_number() -> int:
    """The `page` query argument; a missing one is 1, a malformed or absurd one is a 404.

    Checked here because an enormous page number would overflow the database's OFFSET.
    """
    raw = request.args.get("page", "")
    if raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        abort(404)
    page = int(raw)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    return page


def form_status(form) -> int:
    """400 when a submitted form has errors, so a failed post is told apart from a good one."""
    return 400 if form.errors else 200


# Route converter for database ids: larger numbers are a 404, not an overflow in the database.
ID = "int(max=2147483647)"


ALL_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
# The attribute `admin_required` leaves on a view: which HTTP methods are for admins only.
ADMIN_ONLY_ATTR = "admin_only_methods"


def is_admin() -> bool:
    return current_user.is_authenticated and current_user.has_role(Role.ADMIN)


def _guard(view, methods: frozenset[str]):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method in methods and not is_admin():
            abort(403)
        return view(*args, **kwargs)

    setattr(wrapped, ADMIN_ONLY_ATTR, methods)
    return wrapped


def admin_required(view):
    """403 for anyone below `admin` (the blueprint guard has already refused non-staff).

    Put it under `@bp.route(...)`. The view is marked, so `admin_only_methods(view)` (and the
    access test that walks the URL map) knows it is admin only."""
    return _guard(view, ALL_METHODS)


def admin_required_for(*methods: str):
    """Admin only for the given methods (e.g. "POST"): staff may read the page, not change it.

        @bp.route("/tiers", methods=["GET", "POST"])
        @admin_required_for("POST")
        def tiers(): ...
    """
    chosen = frozenset(m.upper() for m in methods)
    if "GET" in chosen:
        chosen |= {"HEAD"}

    def decorate(view):
        return _guard(view, chosen)

    return decorate


def admin_only_methods(view) -> frozenset[str]:
    """The methods of `view` that are for admins only (empty: staff may use every method)."""
    return getattr(view, ADMIN_ONLY_ATTR, frozenset())


def admin_only_rules(app) -> list[tuple[object, str]]:
    """(rule, method) for every admin route and method that only an admin may use: the single
    list of admin-only actions, read from the views' decorators (used by tests and the nav)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        methods = admin_only_methods(app.view_functions[rule.endpoint])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method in methods:
                found.append((rule, method))
    return found


def admin_or_granted(granted):
    """Admins, and staff for whom `granted(current_user)` is true (a permission an admin gave
    them); 403 for everyone else. Marked admin only like `admin_required`: without the grant,
    a member of staff is refused, and the access test checks that."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not is_admin() and not (current_user.is_authenticated
                                       and granted(current_user)):
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapped, ADMIN_ONLY_ATTR, ALL_METHODS)
        return wrapped

    return decorate
