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
    _register_crm_hooks()


def _register_crm_hooks() -> None:
    """The customer record's "Reviews and feedback" panel, and erasure of what they wrote."""
    from app.blueprints.admin.reviews import STATUS_LABELS
    from app.services import customer_admin, customers, reviews
    from app.web import lazy_gettext as _l

    customers.register_customer_panel(
        "feedback", _l("Reviews and feedback"), "admin/customers/_feedback_panel.html",
        lambda member: {**reviews.member_feedback(member), "status_labels": STATUS_LABELS},
        order=50)
    customer_admin.register_erasure_hook(reviews.scrub_member_feedback)


from app.blueprints.feedback import views  # noqa: E402,F401
