"""Grade names as pages and mails show them."""

from __future__ import annotations

from app.core.i18n import lazy_gettext as _l

# The default grade names (app.grades.grading.DEFAULT_RULES) are shop data stored in English;
# the `tier_label` filter shows them translated. A name the shop wrote itself shows as written.
DEFAULT_TIER_LABELS = {
    "Regular": _l("Regular"),
    "Silver": _l("Silver"),
    "Gold": _l("Gold"),
    "Platinum": _l("Platinum"),
}


def tier_label(name: str | None) -> str:
    if not name:
        return ""
    label = DEFAULT_TIER_LABELS.get(name)
    return str(label) if label is not None else name
