"""Grade names and grade-change reasons as pages and mails show them."""

from __future__ import annotations

from app.core.i18n import lazy_gettext as _l
from app.grades.models import GradeReason

# The default grade names (app.grades.grading.DEFAULT_RULES) are shop data stored in English;
# the `tier_label` filter shows them translated. A name the shop wrote itself shows as written.
DEFAULT_TIER_LABELS = {
    "Regular": _l("Regular"),
    "Silver": _l("Silver"),
    "Gold": _l("Gold"),
    "Platinum": _l("Platinum"),
}

REASON_LABELS = {
    GradeReason.ORDER_PAID: _l("Order paid"),
    GradeReason.ORDER_CANCELLED: _l("Order cancelled"),
    GradeReason.REFUND: _l("Order refunded"),
    GradeReason.ADMIN: _l("Set by the shop"),
    GradeReason.TABLE_CHANGE: _l("Tier table changed"),
    GradeReason.RECOMPUTE: _l("Grades recomputed"),
}


def tier_label(name: str | None) -> str:
    if not name:
        return ""
    label = DEFAULT_TIER_LABELS.get(name)
    return str(label) if label is not None else name


def reason_label(reason: GradeReason | str) -> str:
    """Why a grade changed, in the reader's language (an unknown reason raises ValueError)."""
    return str(REASON_LABELS.get(GradeReason(reason), reason))
