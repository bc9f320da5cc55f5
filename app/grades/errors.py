"""Why the grades feature refuses a tier table, in the reader's language.

`TierTableInvalid` carries every problem `grading.validate_table` found (the old table is kept);
`problem_message` turns one `grading.Problem` into the translated sentence shown beside the field
it concerns (money formatted for the shop's currency).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from app.core.errors import DomainError
from app.core.formatting import money
from app.core.i18n import lazy_gettext as _l
from app.grades.grading import Problem

_PROBLEM_TEXTS = {
    "empty": _l("The table needs at least one tier."),
    "too_many": _l("The table can have at most %(max)s tiers."),
    "code_missing": _l("Give the tier a code."),
    "code_format": _l("Use lowercase letters, digits, - and _ for the code (e.g. gold)."),
    "code_length": _l("The code can be at most %(max)s characters."),
    "code_duplicate": _l("Another tier already has the code %(code)s."),
    "name_missing": _l("Give the tier a name."),
    "name_length": _l("The name can be at most %(max)s characters."),
    "name_duplicate": _l("Another tier is already called %(name)s."),
    "perks_length": _l("The perks can be at most %(max)s characters."),
    "spend_invalid": _l("Enter an amount such as 500 or 499.50."),
    "spend_negative": _l("The threshold cannot be negative."),
    "spend_cents": _l("Use at most two decimals for the threshold."),
    "spend_too_large": _l("The threshold can be at most %(max)s."),
    "first_not_zero": _l("The first tier must start at 0, so every member has a grade."),
    "spend_not_increasing": _l("Each threshold must be higher than the one above it "
                               "(%(previous)s)."),
    "rate_invalid": _l("Enter a discount between 0 and 100 %%."),
    "rate_range": _l("The discount must be between 0 and 100 %%."),
    "rate_precision": _l("Use at most two decimals for the discount percentage."),
    "rate_decreasing": _l("A higher tier cannot have a smaller discount than the one above it "
                          "(%(previous)s %%)."),
}


class TierTableInvalid(DomainError):
    """The tier table was refused; `problems` says where and why (the old table is kept)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(problem_message(p) for p in self.problems))


class TierTableConflict(DomainError):
    """Another transaction wrote the tier table meanwhile; nothing of this save was kept."""


def problem_message(problem: Problem) -> str:
    """The problem in the reader's language (money formatted for the shop's currency)."""
    values = dict(problem.values)
    for key in ("max", "previous"):
        if problem.field == "min_spend" and isinstance(values.get(key), Decimal):
            values[key] = money(values[key])
    return str(_PROBLEM_TEXTS[problem.code]) % values
