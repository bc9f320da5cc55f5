"""Grade names and grade-change reasons as pages and mails show them.

A grade's name is shop data: staff write it in English (`Tier.name`) and, optionally, in the
other languages (`TierName`). Pages and mails show it in the reader's language through the
`tier_label` filter, falling back to the English name where a language has none; a mail is
rendered in its member's language (app.mail.rendering), so it names the grade in theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import has_app_context

from app.core.i18n import lazy_gettext as _l
from app.core.i18n import locale_name
from app.grades.grading import TierRule
from app.grades.models import GradeReason

REASON_LABELS = {
    GradeReason.ORDER_PAID: _l("Order paid"),
    GradeReason.ORDER_CANCELLED: _l("Order cancelled"),
    GradeReason.REFUND: _l("Order refunded"),
    GradeReason.ADMIN: _l("Set by the shop"),
    GradeReason.TABLE_CHANGE: _l("Tier table changed"),
    GradeReason.RECOMPUTE: _l("Grades recomputed"),
}


def reader_locale() -> str | None:
    """The language being rendered (the request's, or a mail's under `force_locale`)."""
    if not has_app_context():
        return None
    return locale_name()


def tier_label(value: TierRule | str | None, rules: Sequence[TierRule] | None = None,
               code: str | None = None) -> str:
    """A grade's name in the reader's language. `value` is a rule of the table (or anything
    with its `name` and `names`, such as a count per grade), or a name as recorded in English
    (a grade change's snapshot): that is named in the reader's language when `rules` still has
    the tier of its `code` (the recorded one: a grade renamed since is still found), or
    without a code a tier of that name, else shown as recorded."""
    if not value:
        return ""
    if isinstance(value, str):
        rule = next((r for r in rules or () if r.code == code), None) if code else None
        rule = rule or next((r for r in rules or () if r.name == value), None)
        if rule is None:
            return value
        value = rule
    return localized_name(value.name, value.names, reader_locale())


def localized_name(name: str, names: Sequence[tuple[str, str]], locale: str | None) -> str:
    """`name` (English) in `locale`, from the ((locale, name), ...) pairs; else `name`."""
    return next((text for code, text in names if code == locale and text), name)


def code_label(code: str | None, rules: Sequence[TierRule]) -> str:
    """The name, in the reader's language, of the grade with this code (the code itself when
    the table no longer has it)."""
    rule = next((r for r in rules if r.code == code), None)
    return rule.name_in(reader_locale()) if rule is not None else (code or "")


def reason_label(reason: GradeReason | str) -> str:
    """Why a grade changed, in the reader's language (an unknown reason raises ValueError)."""
    return str(REASON_LABELS.get(GradeReason(reason), reason))


def tier_perks(rule: TierRule | None) -> str:
    """A grade's perks in the reader's language (the English ones where it has none)."""
    return rule.perks_in(reader_locale()) if rule is not None else ""
