"""Member grade rules: pure functions of spend and the tier table. No Flask, no db.

The rule, stated once:

- a tier table lists tiers by ascending threshold; the first starts at 0, thresholds rise
  strictly, discounts never fall as the threshold rises (see `validate_table`);
- a member's grade is the highest tier whose threshold their qualifying spend has REACHED:
  reaching a threshold exactly qualifies (`spend >= min_spend`), so 500.00 is Silver and
  499.99 is Regular with the default table;
- the discount itself is applied to the goods subtotal by `app.ordering.pricing.quote`, rounded
  once, half-up, on the discount line;
- `decide_grade` says what a member's grade becomes when their spend or the table changes,
  under the demotion policy and any grade an admin set by hand.

What counts as qualifying spend (which orders, which window) is decided by
`app.grades.spend` and `app.grades.settings`, which feed these functions.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from app.core.money import CENT

ZERO = Decimal("0.00")
ONE = Decimal("1")
BASIS_POINT = Decimal("0.0001")

MAX_TIERS = 12
MAX_SPEND = Decimal("100000000.00")  # a threshold above a hundred million is a typo
CODE_MAX_LENGTH = 32  # Member.tier_code and Order.tier_code are String(32)
NAME_MAX_LENGTH = 60
PERKS_MAX_LENGTH = 500
CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class TierRule:
    """One row of the tier table. `discount_rate` is a fraction: 0.05 means 5 %.

    `name` and `perks` are in English, the shop's base language. `names` and `other_perks`
    give them in other languages as ((locale, text), ...) pairs (a tuple keeps the rule
    hashable); a language without one shows the English text (`name_in`, `perks_in`)."""

    code: str
    name: str
    min_spend: Decimal
    discount_rate: Decimal
    perks: str = ""
    names: tuple[tuple[str, str], ...] = ()
    other_perks: tuple[tuple[str, str], ...] = ()

    def name_in(self, locale: str | None) -> str:
        """The name in `locale` (a language code such as zh_Hans), else the English name."""
        return next((text for code, text in self.names if code == locale and text), self.name)

    def perks_in(self, locale: str | None) -> str:
        """The perks in `locale`, else the English perks."""
        return next((text for code, text in self.other_perks if code == locale and text),
                    self.perks)

    @property
    def discount_percent(self) -> Decimal:
        """The rate as a percentage for display and forms, e.g. Decimal('5') for 0.05."""
        value = self.discount_rate * 100
        return value.quantize(ONE) if value == value.to_integral_value() else value.normalize()


# The shop's defaults (in the shop currency, CNY): what a new shop and the demo start with.
# Perks are left for the shop to write: the table promises nothing the shop does not do.
# The Chinese names are what a Chinese shop calls these grades; the pages add 会员 ("member")
# where a sentence needs it ("您是金卡会员"), so the names themselves leave it out.
DEFAULT_RULES: tuple[TierRule, ...] = (
    TierRule("regular", "Regular", Decimal("0.00"), Decimal("0.00"),
             names=(("zh_Hans", "普通"),)),
    TierRule("silver", "Silver", Decimal("500.00"), Decimal("0.05"),
             names=(("zh_Hans", "银卡"),)),
    TierRule("gold", "Gold", Decimal("2000.00"), Decimal("0.10"),
             names=(("zh_Hans", "金卡"),)),
    TierRule("platinum", "Platinum", Decimal("5000.00"), Decimal("0.15"),
             names=(("zh_Hans", "白金"),)),
)


def ordered(rules: Sequence[TierRule]) -> list[TierRule]:
    """The rules by ascending threshold (the order of a valid table)."""
    return sorted(rules, key=lambda r: r.min_spend)


def tier_for(spend: Decimal, rules: Sequence[TierRule]) -> TierRule:
    """The highest tier whose threshold `spend` has reached (`>=`: exactly 500 is Silver)."""
    reached = [r for r in rules if spend >= r.min_spend]
    if not reached:
        raise ValueError("the tier table must have a tier starting at 0")
    return max(reached, key=lambda r: r.min_spend)


def next_tier(spend: Decimal, rules: Sequence[TierRule]) -> tuple[TierRule, Decimal] | None:
    """The next tier above what `spend` earns, and how much more spend reaches it exactly.

    None at the top of the table.
    """
    above = [r for r in rules if r.min_spend > spend]
    if not above:
        return None
    rule = min(above, key=lambda r: r.min_spend)
    return rule, rule.min_spend - spend


def rank(code: str | None, rules: Sequence[TierRule]) -> int | None:
    """The position of a tier in the table (0 = the entry tier); None for an unknown code."""
    for index, rule in enumerate(ordered(rules)):
        if rule.code == code:
            return index
    return None


@dataclass(frozen=True)
class Standing:
    """Where a member stands: their grade, what their spend earns, and the way up."""

    spend: Decimal
    current: TierRule  # the grade they hold (may differ from `earned`: kept or set by hand)
    earned: TierRule  # the grade their spend alone earns
    next: TierRule | None  # the first tier above the grade they hold; None at the top
    needed: Decimal  # spend still needed to reach `next` (0 at the top)
    progress: Decimal  # 0..1: how far from the current grade's threshold to the next one

    @property
    def progress_percent(self) -> int:
        """The progress bar's whole percent, rounded DOWN: 100 only when the next grade is
        reached (or there is none), so the bar never looks full while spend is still needed.
        Every page that draws the bar uses this."""
        return int((self.progress * 100).to_integral_value(rounding=ROUND_FLOOR))


def standing(spend: Decimal, rules: Sequence[TierRule], current_code: str | None = None
             ) -> Standing:
    """The member's standing for the progress bar.

    `current_code` is the grade they hold; an unknown or missing code means the grade their
    spend earns. The next grade is the first one above the HIGHER of the two, so a member
    kept at (or set by hand to) Gold is shown the way to Platinum, not to Gold.
    """
    table = ordered(rules)
    earned = tier_for(spend, table)
    current = next((r for r in table if r.code == current_code), earned)
    floor = max(current, earned, key=lambda r: r.min_spend)
    above = [r for r in table if r.min_spend > floor.min_spend]
    if not above:
        return Standing(spend, current, earned, None, ZERO, ONE)
    upcoming = above[0]
    needed = max(upcoming.min_spend - spend, ZERO)
    span = upcoming.min_spend - floor.min_spend
    fraction = (spend - floor.min_spend) / span
    fraction = min(max(fraction, Decimal(0)), ONE)
    return Standing(spend, current, earned, upcoming, needed, fraction)


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Problem:
    """Why a tier table is refused. `index` is the row (0-based) and `field` the attribute
    (`code`, `name`, `min_spend`, `discount_rate`, `perks`, or `name_<locale>` and
    `perks_<locale>` for another language) it concerns; both None for the table as a whole.
    `code` names the rule broken; `values` fill in the message."""

    index: int | None
    field: str | None
    code: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:  # English, for logs and the CLI; the web shows translations
        where = f"row {self.index + 1}: " if self.index is not None else ""
        return where + MESSAGES[self.code].format(**self.values)


# English texts of every problem; `app.grades.errors.problem_message` translates them.
MESSAGES: dict[str, str] = {
    "empty": "The table needs at least one tier.",
    "too_many": "The table can have at most {max} tiers.",
    "code_missing": "Give the tier a code.",
    "code_format": "Use lowercase letters, digits, - and _ for the code (e.g. gold).",
    "code_length": "The code can be at most {max} characters.",
    "code_duplicate": "Another tier already has the code {code}.",
    "name_missing": "Give the tier a name.",
    "name_length": "The name can be at most {max} characters.",
    "name_duplicate": "Another tier is already called {name}.",
    "perks_length": "The perks can be at most {max} characters.",
    "spend_invalid": "Enter an amount such as 500 or 499.50.",
    "spend_negative": "The threshold cannot be negative.",
    "spend_cents": "Use at most two decimals for the threshold.",
    "spend_too_large": "The threshold can be at most {max}.",
    "first_not_zero": "The first tier must start at 0, so every member has a grade.",
    "spend_not_increasing": "Each threshold must be higher than the one above it ({previous}).",
    "rate_invalid": "Enter a discount between 0 and 100 %.",
    "rate_range": "The discount must be between 0 and 100 %.",
    "rate_precision": "Use at most two decimals for the discount percentage.",
    "rate_decreasing": "A higher tier cannot have a smaller discount than the one above it "
                       "({previous} %).",
}


def _is_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def validate_table(rules: Sequence[TierRule]) -> list[Problem]:
    """Every reason to refuse this table, in row order; an empty list means it is good.

    Rules are checked in the order given (the order the admin listed them): the first must
    start at 0, thresholds must rise strictly, discounts (0..100 %) must not fall, codes and
    names must be unique (names ignoring case, in each language), lengths must fit the
    database.
    """
    problems: list[Problem] = []
    if not rules:
        return [Problem(None, None, "empty")]
    if len(rules) > MAX_TIERS:
        problems.append(Problem(None, None, "too_many", {"max": MAX_TIERS}))

    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    other_names: dict[tuple[str, str], int] = {}  # (locale, folded name): row
    previous_spend: Decimal | None = None
    previous_rate: Decimal | None = None
    for index, rule in enumerate(rules):
        def add(field_name: str, rule_broken: str, index: int = index,
                **values: object) -> None:
            problems.append(Problem(index, field_name, rule_broken, values))

        code = rule.code or ""
        if not code:
            add("code", "code_missing")
        elif len(code) > CODE_MAX_LENGTH:
            add("code", "code_length", max=CODE_MAX_LENGTH)
        elif not CODE_PATTERN.fullmatch(code):
            add("code", "code_format")
        elif code in codes:
            add("code", "code_duplicate", code=code)
        else:
            codes[code] = index

        name = (rule.name or "").strip()
        if not name:
            add("name", "name_missing")
        elif len(name) > NAME_MAX_LENGTH:
            add("name", "name_length", max=NAME_MAX_LENGTH)
        elif name.casefold() in names:
            add("name", "name_duplicate", name=name)
        else:
            names[name.casefold()] = index

        if len(rule.perks or "") > PERKS_MAX_LENGTH:
            add("perks", "perks_length", max=PERKS_MAX_LENGTH)

        for locale, other_name in rule.names:
            other_name = (other_name or "").strip()
            if len(other_name) > NAME_MAX_LENGTH:
                add(f"name_{locale}", "name_length", max=NAME_MAX_LENGTH)
            elif other_name and (locale, other_name.casefold()) in other_names:
                add(f"name_{locale}", "name_duplicate", name=other_name)
            elif other_name:
                other_names[(locale, other_name.casefold())] = index
        for locale, text in rule.other_perks:
            if len(text or "") > PERKS_MAX_LENGTH:
                add(f"perks_{locale}", "perks_length", max=PERKS_MAX_LENGTH)

        if not _is_decimal(rule.min_spend):
            add("min_spend", "spend_invalid")
        elif rule.min_spend < 0:
            add("min_spend", "spend_negative")
        elif rule.min_spend != rule.min_spend.quantize(CENT):
            add("min_spend", "spend_cents")
        elif rule.min_spend > MAX_SPEND:
            add("min_spend", "spend_too_large", max=MAX_SPEND)
        else:
            if index == 0 and rule.min_spend != 0:
                add("min_spend", "first_not_zero")
            elif previous_spend is not None and rule.min_spend <= previous_spend:
                add("min_spend", "spend_not_increasing", previous=previous_spend)
            if previous_spend is None or rule.min_spend > previous_spend:
                previous_spend = rule.min_spend

        if not _is_decimal(rule.discount_rate):
            add("discount_rate", "rate_invalid")
        elif not Decimal(0) <= rule.discount_rate <= ONE:
            add("discount_rate", "rate_range")
        elif rule.discount_rate != rule.discount_rate.quantize(BASIS_POINT):
            add("discount_rate", "rate_precision")
        elif previous_rate is not None and rule.discount_rate < previous_rate:
            add("discount_rate", "rate_decreasing",
                previous=TierRule("", "", ZERO, previous_rate).discount_percent)
        else:
            previous_rate = rule.discount_rate
    return problems


# --------------------------------------------------------------------------- re-grading


class Demotion(enum.StrEnum):
    """What happens when a member's spend falls below their grade (config TIER_DEMOTION)."""

    DEMOTE = "demote"  # the grade follows the spend down at once
    KEEP = "keep"  # kept until its window ends; never lost when the window is all time


def add_months(when: datetime, months: int) -> datetime:
    """`when` moved by whole calendar months (negative goes back); the day is clamped, so
    31 March minus one month is 28 (or 29) February."""
    month_index = when.year * 12 + (when.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
            31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return when.replace(year=year, month=month, day=min(when.day, days))


@dataclass(frozen=True)
class GradeDecision:
    code: str  # the grade the member holds after the event
    manual: bool  # whether that grade is still one an admin set by hand


def decide_grade(
    *,
    current: str | None,
    manual: bool,
    old_spend: Decimal,
    new_spend: Decimal,
    rules: Sequence[TierRule],
    policy: Demotion = Demotion.DEMOTE,
    since: datetime | None = None,
    window_months: int | None = None,
    now: datetime | None = None,
    floor_spend: Decimal | None = None,
) -> GradeDecision:
    """The grade a member holds after their spend went from `old_spend` to `new_spend` (or the
    table changed under them).

    `floor_spend` is REFUND_GRADE_POLICY="keep" (a refund never lowers the grade): the spend
    BEFORE refunds, given on every regrade, not only the refund's own. A move down (by any
    policy, at any later regrade) then stops at the grade that spend earns, and is never
    raised by it above the grade held: refunded money keeps a grade, it never earns one. The
    floor itself still follows the window (orders leaving it lower it) and hand-set grades.
    """
    decision = _follow_spend(current=current, manual=manual, old_spend=old_spend,
                             new_spend=new_spend, rules=rules, policy=policy, since=since,
                             window_months=window_months, now=now)
    table = ordered(rules)
    current_rank = rank(current, table)
    if floor_spend is None or current_rank is None:
        return decision
    floor_rank = min(current_rank, rank(tier_for(floor_spend, table).code, table) or 0)
    decided_rank = rank(decision.code, table)
    if decided_rank is not None and decided_rank < floor_rank:
        return GradeDecision(table[floor_rank].code, decision.manual)
    return decision


def _follow_spend(
    *,
    current: str | None,
    manual: bool,
    old_spend: Decimal,
    new_spend: Decimal,
    rules: Sequence[TierRule],
    policy: Demotion,
    since: datetime | None,
    window_months: int | None,
    now: datetime | None,
) -> GradeDecision:
    """`decide_grade` without a floor: the grade after spend went from `old_spend` to
    `new_spend`.

    - A grade that is not in the table (removed, or never set) is replaced by what spend earns.
    - Going UP is immediate: the member gets the grade the new spend earns.
    - Going DOWN follows `policy`: DEMOTE at once; KEEP holds the grade until its window ends
      (`since` + `window_months`), and for good when the window is all time (None).
    - A grade set by hand (`manual`) is never lowered by these rules. It is released, and the
      member follows their spend again, only when the spend crosses into a grade above BOTH the
      hand-set grade and what the old spend earned (so a hand-set demotion also holds until the
      member really earns more).
    """
    table = ordered(rules)
    earned = tier_for(new_spend, table)
    current_rank = rank(current, table)
    if current_rank is None:
        return GradeDecision(earned.code, False)
    earned_rank = rank(earned.code, table)
    assert earned_rank is not None
    if manual:
        old_rank = rank(tier_for(old_spend, table).code, table)
        assert old_rank is not None
        if earned_rank > current_rank and earned_rank > old_rank:
            return GradeDecision(earned.code, False)
        return GradeDecision(current or earned.code, True)
    if earned_rank >= current_rank:
        return GradeDecision(earned.code, False)
    if policy is Demotion.DEMOTE:
        return GradeDecision(earned.code, False)
    # KEEP: all-time spend never shrinks except by cancellation, so the grade stays for good;
    # with a rolling window it lasts until the window that earned it has passed.
    if window_months is None or since is None or now is None:
        return GradeDecision(current or earned.code, False)
    if add_months(since, window_months) <= now:
        return GradeDecision(earned.code, False)
    return GradeDecision(current or earned.code, False)
