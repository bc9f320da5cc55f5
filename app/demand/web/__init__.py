"""Demand: the member's demand list, "tell me when it is in stock", requests for books we do
not carry, visitors' double opt-in, mail preferences and unsubscribe links (issue 3)."""

from flask import Blueprint

bp = Blueprint("demand", __name__)


@bp.record_once
def _register_send_checks(state) -> None:
    from app.demand.unsubscribe import register_send_checks

    register_send_checks()


from app.demand.web import views  # noqa: E402,F401
