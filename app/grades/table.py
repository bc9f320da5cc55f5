"""The tier table as stored: reading it, writing the default one, and looking codes up.

While no table has been saved the defaults (`grading.DEFAULT_RULES`) are the table; the first
grading or the seed writes them (`ensure_default_tiers`). Replacing the table re-grades every
member, so it lives with the bulk re-grading (`app.grades.bulk_regrade.replace_table`).
Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.core.extensions import db
from app.grades import grading
from app.grades.grading import TierRule
from app.grades.models import Tier


def _rule(tier: Tier) -> TierRule:
    return TierRule(code=tier.code, name=tier.name, min_spend=tier.min_spend,
                    discount_rate=tier.discount_rate, perks=tier.perks or "")


def load_rules() -> tuple[TierRule, ...]:
    """The tier table by ascending threshold; the defaults while none has been saved."""
    tiers = db.session.scalars(sa.select(Tier).order_by(Tier.min_spend, Tier.id)).all()
    if not tiers:
        return grading.DEFAULT_RULES
    return tuple(_rule(t) for t in tiers)


def table_is_saved() -> bool:
    return bool(db.session.scalar(sa.select(sa.exists().where(Tier.id.is_not(None)))))


def ensure_default_tiers() -> tuple[TierRule, ...]:
    """Write the default table (Regular 0 -> 0 %, Silver 500 -> 5 %, Gold 2,000 -> 10 %,
    Platinum 5,000 -> 15 %) when there is none yet; returns the table. Flushes.

    Safe when two transactions try at once: the loser's inserts hit the unique codes, are
    rolled back to a savepoint, and it reads the winner's table.
    """
    if table_is_saved():
        return load_rules()
    try:
        with db.session.begin_nested():
            db.session.add_all(tier_rows(grading.DEFAULT_RULES))
    except IntegrityError:
        pass
    return load_rules()


def tier_rows(rules: Sequence[TierRule]) -> list[Tier]:
    """New `Tier` rows for the rules, positioned in the order given (names and perks trimmed)."""
    return [
        Tier(code=r.code, name=r.name.strip(), min_spend=r.min_spend,
             discount_rate=r.discount_rate, perks=(r.perks or "").strip() or None, position=i)
        for i, r in enumerate(rules)
    ]


def rule_for(code: str | None, rules: Sequence[TierRule]) -> TierRule | None:
    return next((r for r in rules if r.code == code), None)


def tier_name(code: str | None, rules: Sequence[TierRule] | None = None) -> str:
    """The display name of a grade code (the code itself when the table no longer has it)."""
    rule = rule_for(code, load_rules() if rules is None else rules)
    return rule.name if rule is not None else (code or "")
