"""The grade rule: pure functions of spend and the tier table, tested as properties."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.money import round_money
from app.grades.grading import (
    DEFAULT_RULES,
    Demotion,
    TierRule,
    add_months,
    decide_grade,
    next_tier,
    standing,
    tier_for,
    validate_table,
)
from app.ordering.pricing import quote

D = Decimal
FEE = D("10.00")
FREE_FROM = D("99.00")

amounts = st.integers(min_value=0, max_value=10_000_000).map(lambda c: D(c) / 100)
prices = st.integers(min_value=1, max_value=50_000_00).map(lambda c: D(c) / 100)
basket = st.lists(st.tuples(st.integers(1, 10_000), st.just("A book"), prices,
                            st.integers(1, 99)), min_size=1, max_size=6)


@st.composite
def tables(draw) -> list[TierRule]:
    """Valid tier tables: from 0, thresholds strictly rising, discounts never falling."""
    size = draw(st.integers(1, 8))
    steps = draw(st.lists(st.integers(1, 500_000_00), min_size=size - 1, max_size=size - 1))
    rates = sorted(draw(st.lists(st.integers(0, 10_000), min_size=size, max_size=size)))
    rules, threshold = [], 0
    for i in range(size):
        if i:
            threshold += steps[i - 1]
        rules.append(TierRule(f"t{i}", f"Tier {i}", D(threshold) / 100, D(rates[i]) / 10_000))
    return rules


# --------------------------------------------------------------------------- properties


@given(tables(), amounts, amounts)
def test_the_grade_never_falls_as_spend_rises(rules, a, b):
    low, high = sorted((a, b))

    assert tier_for(low, rules).min_spend <= tier_for(high, rules).min_spend
    assert tier_for(low, rules).discount_rate <= tier_for(high, rules).discount_rate


@given(tables(), amounts)
def test_the_grade_is_the_highest_threshold_reached(rules, spend):
    grade = tier_for(spend, rules)

    assert grade.min_spend <= spend
    assert all(r.min_spend > spend or r.min_spend <= grade.min_spend for r in rules)


@given(tables(), amounts)
def test_spending_exactly_the_amount_still_needed_reaches_the_next_grade(rules, spend):
    upcoming = next_tier(spend, rules)

    if upcoming is None:
        assert tier_for(spend, rules) == max(rules, key=lambda r: r.min_spend)
    else:
        rule, needed = upcoming
        assert needed > 0
        assert tier_for(spend + needed, rules) == rule
        assert tier_for(spend + needed - D("0.01"), rules) != rule


@given(tables(), amounts, basket)
def test_the_discount_of_any_grade_never_exceeds_the_subtotal(rules, spend, lines):
    q = quote(lines, tier_for(spend, rules).discount_rate, shipping_fee=FEE,
              free_shipping_from=FREE_FROM)

    assert D("0") <= q.discount <= q.subtotal


@given(tables(), amounts, basket)
def test_totals_add_up_for_every_grade(rules, spend, lines):
    q = quote(lines, tier_for(spend, rules).discount_rate, shipping_fee=FEE,
              free_shipping_from=FREE_FROM)

    assert q.subtotal == sum((line.line_total for line in q.lines), D("0"))
    assert q.total == q.subtotal - q.discount + q.shipping


@given(tables(), amounts, basket)
def test_the_discount_is_rounded_once_half_up_and_rounding_it_again_changes_nothing(
        rules, spend, lines):
    rate = tier_for(spend, rules).discount_rate
    q = quote(lines, rate, shipping_fee=FEE, free_shipping_from=FREE_FROM)
    again = quote(lines, rate, shipping_fee=FEE, free_shipping_from=FREE_FROM)

    assert q.discount == round_money(q.subtotal * rate)
    assert round_money(q.discount) == q.discount
    assert again == q


@given(tables())
def test_every_generated_table_is_valid(rules):
    assert validate_table(rules) == []


@given(tables(), amounts)
def test_progress_is_a_fraction_and_the_amount_needed_is_never_negative(rules, spend):
    place = standing(spend, rules)

    assert D(0) <= place.progress <= 1
    assert place.needed >= 0
    assert place.current == tier_for(spend, rules)


# --------------------------------------------------------------------------- the edges


@pytest.mark.parametrize(("spend", "code"), [
    ("0.00", "regular"), ("499.99", "regular"), ("500.00", "silver"), ("500.01", "silver"),
    ("1999.99", "silver"), ("2000.00", "gold"), ("4999.99", "gold"), ("5000.00", "platinum"),
    ("123456.78", "platinum"),
])
def test_reaching_a_threshold_exactly_qualifies_for_it(spend, code):
    assert tier_for(D(spend), DEFAULT_RULES).code == code


def test_the_default_table_is_regular_silver_gold_platinum():
    assert [(r.code, r.min_spend, r.discount_rate) for r in DEFAULT_RULES] == [
        ("regular", D("0.00"), D("0.00")), ("silver", D("500.00"), D("0.05")),
        ("gold", D("2000.00"), D("0.10")), ("platinum", D("5000.00"), D("0.15")),
    ]


def test_a_member_just_below_silver_needs_exactly_the_difference():
    rule, needed = next_tier(D("475.50"), DEFAULT_RULES)

    assert (rule.code, needed) == ("silver", D("24.50"))


def test_the_top_grade_has_no_next_grade_and_a_full_bar():
    place = standing(D("9000.00"), DEFAULT_RULES)

    assert next_tier(D("9000.00"), DEFAULT_RULES) is None
    assert (place.next, place.needed, place.progress) == (None, D("0.00"), D("1"))


def test_the_bar_measures_from_the_current_threshold_to_the_next():
    place = standing(D("1250.00"), DEFAULT_RULES)

    assert (place.next.code, place.needed, place.progress) == ("gold", D("750.00"), D("0.5"))


def test_a_member_held_above_their_spend_is_shown_the_way_past_the_grade_they_hold():
    place = standing(D("100.00"), DEFAULT_RULES, current_code="gold")

    assert (place.current.code, place.earned.code) == ("gold", "regular")
    assert (place.next.code, place.needed, place.progress) == ("platinum", D("4900.00"), D("0"))


def test_tier_for_refuses_a_table_without_a_tier_at_zero():
    with pytest.raises(ValueError):
        tier_for(D("10"), [TierRule("a", "A", D("100"), D("0"))])


# --------------------------------------------------------------------------- bad tables


def _rule(code="x", name=None, spend="0", rate="0", perks=""):
    return TierRule(code, name or code.title(), D(spend), D(rate), perks)


def _codes(rules):
    return [(p.index, p.field, p.code) for p in validate_table(rules)]


def test_an_empty_table_is_refused():
    assert _codes([]) == [(None, None, "empty")]


def test_the_first_tier_must_start_at_zero():
    assert _codes([_rule("a", spend="10")]) == [(0, "min_spend", "first_not_zero")]


@pytest.mark.parametrize("second", ["0", "100", "99.99"])
def test_thresholds_must_rise_strictly(second):
    rules = [_rule("a"), _rule("b", spend="100"), _rule("c", spend=second)]

    assert _codes(rules) == [(2, "min_spend", "spend_not_increasing")]


def test_a_negative_threshold_is_refused():
    assert (1, "min_spend", "spend_negative") in _codes([_rule("a"), _rule("b", spend="-5")])


def test_a_threshold_with_fractions_of_a_cent_is_refused():
    assert _codes([_rule("a"), _rule("b", spend="10.005")]) == [(1, "min_spend", "spend_cents")]


def test_a_non_numeric_threshold_is_refused():
    assert _codes([_rule("a"), _rule("b", spend="NaN")]) == [(1, "min_spend", "spend_invalid")]


@pytest.mark.parametrize(("rate", "problem"), [("-0.01", "rate_range"), ("1.01", "rate_range"),
                                                ("0.00005", "rate_precision"),
                                                ("Infinity", "rate_invalid")])
def test_a_discount_outside_0_to_100_percent_is_refused(rate, problem):
    assert _codes([_rule("a"), _rule("b", spend="1", rate=rate)]) == [(1, "discount_rate", problem)]


def test_a_higher_tier_cannot_have_a_smaller_discount():
    rules = [_rule("a", rate="0.05"), _rule("b", spend="100", rate="0.04")]

    assert _codes(rules) == [(1, "discount_rate", "rate_decreasing")]


def test_equal_discounts_on_two_tiers_are_allowed():
    assert _codes([_rule("a", rate="0.05"), _rule("b", spend="100", rate="0.05")]) == []


def test_codes_and_names_must_be_unique():
    rules = [_rule("a", name="Gold"), _rule("a", name="gold", spend="1")]

    assert _codes(rules) == [(1, "code", "code_duplicate"), (1, "name", "name_duplicate")]


@pytest.mark.parametrize(("code", "problem"), [("", "code_missing"), ("Gold!", "code_format"),
                                                ("x" * 33, "code_length")])
def test_a_code_must_be_short_lowercase_letters_and_digits(code, problem):
    assert _codes([TierRule(code, "Name", D("0"), D("0"))]) == [(0, "code", problem)]


def test_over_long_names_and_perks_are_refused():
    rules = [TierRule("a", "N" * 61, D("0"), D("0"), "p" * 501)]

    assert _codes(rules) == [(0, "name", "name_length"), (0, "perks", "perks_length")]


def test_every_problem_reads_as_a_sentence_with_its_row():
    [problem] = validate_table([_rule("a"), _rule("b", spend="0")])

    assert str(problem) == "row 2: Each threshold must be higher than the one above it (0)."


# --------------------------------------------------------------------------- decisions

T0 = datetime(2026, 1, 31, tzinfo=UTC)


def _decide(current, old, new, manual=False, policy=Demotion.DEMOTE, since=None, window=None,
            now=T0):
    return decide_grade(current=current, manual=manual, old_spend=D(old), new_spend=D(new),
                        rules=DEFAULT_RULES, policy=policy, since=since, window_months=window,
                        now=now)


def test_spend_crossing_a_threshold_raises_the_grade():
    assert _decide("regular", "480", "510").code == "silver"


def test_demote_policy_lowers_the_grade_when_spend_falls():
    assert _decide("gold", "2100", "1900").code == "silver"


def test_keep_policy_keeps_the_grade_for_good_on_all_time_spend():
    assert _decide("gold", "2100", "100", policy=Demotion.KEEP).code == "gold"


def test_keep_policy_keeps_the_grade_until_its_window_ends():
    since = datetime(2025, 6, 1, tzinfo=UTC)

    inside = _decide("gold", "2100", "100", policy=Demotion.KEEP, since=since, window=12,
                     now=datetime(2026, 5, 31, tzinfo=UTC))
    after = _decide("gold", "2100", "100", policy=Demotion.KEEP, since=since, window=12,
                    now=datetime(2026, 6, 1, tzinfo=UTC))

    assert (inside.code, after.code) == ("gold", "regular")


def test_a_grade_no_longer_in_the_table_becomes_what_spend_earns():
    assert _decide("diamond", "0", "700", policy=Demotion.KEEP).code == "silver"


def test_a_hand_set_grade_is_never_lowered_automatically():
    decision = _decide("gold", "100", "50", manual=True)

    assert (decision.code, decision.manual) == ("gold", True)


def test_a_hand_set_grade_gives_way_when_spend_earns_a_higher_one():
    decision = _decide("gold", "4900", "5000", manual=True)

    assert (decision.code, decision.manual) == ("platinum", False)


def test_a_hand_set_demotion_holds_until_spend_earns_more_than_before():
    held = _decide("silver", "2500", "2600", manual=True)
    released = _decide("silver", "2600", "5100", manual=True)

    assert (held.code, held.manual) == ("silver", True)
    assert (released.code, released.manual) == ("platinum", False)


@pytest.mark.parametrize(("when", "months", "expected"), [
    (datetime(2026, 3, 31, tzinfo=UTC), -1, datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2024, 3, 31, tzinfo=UTC), -1, datetime(2024, 2, 29, tzinfo=UTC)),
    (datetime(2026, 1, 15, tzinfo=UTC), -12, datetime(2025, 1, 15, tzinfo=UTC)),
    (datetime(2025, 11, 30, tzinfo=UTC), 3, datetime(2026, 2, 28, tzinfo=UTC)),
])
def test_months_are_calendar_months_with_the_day_clamped(when, months, expected):
    assert add_months(when, months) == expected


@pytest.mark.parametrize(("spend", "percent"), [
    ("0.00", 0), ("4.99", 0), ("5.00", 1), ("499.99", 99), ("500.00", 0), ("9000.00", 100)])
def test_the_bar_shows_whole_percents_rounded_down_so_it_is_full_only_at_the_grade(
        spend, percent):
    assert standing(D(spend), DEFAULT_RULES).progress_percent == percent
