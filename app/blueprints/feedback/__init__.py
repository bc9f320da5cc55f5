"""Feedback (issue 5): the member rates the books of a delivered order and answers the
satisfaction question, from the invitation mail's signed link or from the order page."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)


@bp.record_once
def _register_send_checks(state) -> None:
    from app.services import reviews
    from app.services.analytics import campaigns

    reviews.register_send_checks()
    campaigns.register_send_checks()


from app.blueprints.feedback import views  # noqa: E402,F401
