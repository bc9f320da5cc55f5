"""Feedback (issue 5): the member rates the books of a delivered order and answers the
satisfaction question, from the invitation mail's signed link or from the order page."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)


@bp.record_once
def _register_send_checks(state) -> None:
    from app.campaigns import services as campaigns
    from app.feedback import reviews

    reviews.register_send_checks()
    campaigns.register_send_checks()
    _register_crm_hooks()


def _register_crm_hooks() -> None:
    """The customer record's "Reviews and feedback" panel, and erasure of what they wrote."""
    from app.core.i18n import lazy_gettext as _l
    from app.crm import customer_admin, customers
    from app.feedback import reviews
    from app.feedback.web.admin_reviews import STATUS_LABELS

    customers.register_customer_panel(
        "feedback", _l("Reviews and feedback"), "admin/customers/_feedback_panel.html",
        lambda member: {**reviews.member_feedback(member), "status_labels": STATUS_LABELS},
        order=50)
    customer_admin.register_erasure_hook(reviews.scrub_member_feedback)


from app.feedback.web import views  # noqa: E402,F401
