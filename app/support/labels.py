"""What each case type, priority and status is called on the pages (translated when shown)."""

from __future__ import annotations

from app.core.i18n import lazy_gettext as _l
from app.support.models import CasePriority, CaseSource, CaseStatus, CaseType

TYPE_LABELS = {
    CaseType.QUESTION: _l("Question"),
    CaseType.COMPLAINT: _l("Complaint"),
    CaseType.DAMAGED: _l("Damaged book"),
    CaseType.LATE: _l("Late delivery"),
    CaseType.WRONG_ITEM: _l("Wrong book sent"),
    CaseType.OTHER: _l("Something else"),
}
PRIORITY_LABELS = {
    CasePriority.LOW: _l("Low"),
    CasePriority.NORMAL: _l("Normal"),
    CasePriority.HIGH: _l("High"),
    CasePriority.URGENT: _l("Urgent"),
}
STATUS_LABELS = {
    CaseStatus.NEW: _l("New"),
    CaseStatus.OPEN: _l("Open"),
    CaseStatus.WAITING: _l("Waiting on customer"),
    CaseStatus.RESOLVED: _l("Resolved"),
    CaseStatus.CLOSED: _l("Closed"),
}
SOURCE_LABELS = {
    CaseSource.MEMBER: _l("Member"),
    CaseSource.VISITOR: _l("Visitor"),
    CaseSource.STAFF: _l("Staff"),
    CaseSource.NPS: _l("Satisfaction answer"),
    CaseSource.REVIEW: _l("Review"),
    CaseSource.RECORD_MAIL: _l("Answer to our mail"),
}


def template_labels() -> dict:
    """The label tables for templates."""
    return {"type_label": TYPE_LABELS.get, "priority_label": PRIORITY_LABELS.get,
            "case_status_label": STATUS_LABELS.get, "source_label": SOURCE_LABELS.get}
