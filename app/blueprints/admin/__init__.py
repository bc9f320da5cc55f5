"""Admin: the staff area. One guard covers every route, so a new page cannot forget it."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from app.models import Role

bp = Blueprint("admin", __name__)


@bp.before_request
def require_staff():
    """Anonymous visitors go to the login page; logged-in non-staff get 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
    if not current_user.has_role(Role.STAFF):
        abort(403)
    return None


from app.blueprints.admin import views  # noqa: E402,F401
