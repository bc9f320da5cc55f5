"""The customer record's panels from the features below the CRM: each loader returns its
template's context in a fixed, small number of queries (`customers.register_customer_panel`).
The CRM's `init_app` registers them."""

from __future__ import annotations

from app.analytics.snapshots import member_summary
from app.feedback import reviews
from app.feedback.web.admin_reviews import STATUS_LABELS
from app.membership.models import Member
from app.returns import requests as returns
from app.support import cases as support_cases
from app.support.labels import template_labels


def analytics_panel(member: Member) -> dict:
    """"Segment and lifetime value": the member's row of the latest analytics snapshot."""
    return {"analytics": member_summary(member.id)}


def feedback_panel(member: Member) -> dict:
    """"Reviews and feedback": what the member wrote about the books and the shop."""
    return {**reviews.member_feedback(member), "status_labels": STATUS_LABELS}


def returns_panel(member: Member) -> dict:
    """"Returns and refunds": the member's returns and every refund on their orders."""
    return {"returns": returns.member_returns(member.id),
            "refunds": returns.member_refunds(member.id),
            "return_status_label": returns.status_label,
            "return_reason_label": returns.reason_label}
def cases_panel(member: Member) -> dict:
    """"Service cases": the member's latest cases (their visitor ones by the same address
    too) and how many are still open."""
    return {**support_cases.customer_cases(member), **template_labels()}
