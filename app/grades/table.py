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
from sqlalchemy.orm import joinedload

from app.core.extensions import db
from app.grades import grading
from app.grades.grading import TierRule
from app.grades.models import Tier, TierName


def _rule(tier: Tier) -> TierRule:
    return TierRule(code=tier.code, name=tier.name, min_spend=tier.min_spend,
                    discount_rate=tier.discount_rate, perks=tier.perks or "",
                    names=tuple((t.locale, t.name) for t in tier.translations if t.name),
                    other_perks=tuple((t.locale, t.perks) for t in tier.translations
                                      if t.perks))


def load_rules() -> tuple[TierRule, ...]:
    """The tier table by ascending threshold, with its names in every language; the defaults
    while none has been saved."""
    tiers = db.session.scalars(  # one query: the table is a dozen rows at most
        sa.select(Tier).options(joinedload(Tier.translations))
        .order_by(Tier.min_spend, Tier.id)).unique().all()
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
    """New `Tier` rows for the rules, positioned in the order given, with their names and
    perks in other languages (texts trimmed; an empty one is not stored)."""
    return [
        Tier(code=r.code, name=r.name.strip(), min_spend=r.min_spend,
             discount_rate=r.discount_rate, perks=(r.perks or "").strip() or None, position=i,
             translations=_translations(r))
        for i, r in enumerate(rules)
    ]


def _translations(rule: TierRule) -> list[TierName]:
    names = {locale: (text or "").strip() for locale, text in rule.names}
    perks = {locale: (text or "").strip() for locale, text in rule.other_perks}
    return [TierName(locale=locale, name=names.get(locale) or None,
                     perks=perks.get(locale) or None)
            for locale in sorted({*names, *perks}) if names.get(locale) or perks.get(locale)]


def rule_for(code: str | None, rules: Sequence[TierRule]) -> TierRule | None:
    return next((r for r in rules if r.code == code), None)
