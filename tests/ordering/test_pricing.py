"""The pricing rule (issue 2, ready for the tier discount of issue 7): exact, rounded once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ordering.pricing import Quote, quote

FEE = Decimal("10.00")
FREE_FROM = Decimal("99.00")

cents = st.integers(min_value=0, max_value=50_000_00).map(lambda c: Decimal(c) / 100)
rates = st.integers(min_value=0, max_value=10_000).map(lambda bp: Decimal(bp) / 10_000)
lines_strategy = st.lists(
    st.tuples(st.integers(1, 10_000), st.just("A book"), cents, st.integers(1, 99)),
    max_size=8,
)


def price(lines, rate=Decimal("0"), fee=FEE, free_from=FREE_FROM) -> Quote:
    return quote(lines, rate, shipping_fee=fee, free_shipping_from=free_from)


def two_places(value: Decimal) -> bool:
    return value.as_tuple().exponent == -2


# --------------------------------------------------------------------------- properties


@given(lines_strategy, rates)
def test_the_discount_never_exceeds_the_subtotal(lines, rate):
    q = price(lines, rate)

    assert Decimal("0") <= q.discount <= q.subtotal


@given(lines_strategy, rates)
def test_the_total_is_subtotal_minus_discount_plus_shipping_exactly(lines, rate):
    q = price(lines, rate)

    assert q.total == q.subtotal - q.discount + q.shipping
    assert q.subtotal == sum((line.line_total for line in q.lines), Decimal("0"))


@given(lines_strategy, rates)
def test_every_amount_has_exactly_two_decimal_places(lines, rate):
    q = price(lines, rate)

    amounts = [q.subtotal, q.discount, q.shipping, q.total]
    amounts += [a for line in q.lines for a in (line.unit_price, line.line_total)]
    assert all(two_places(a) for a in amounts)


@given(lines_strategy)
def test_a_discount_rate_of_zero_means_no_discount_line(lines):
    q = price(lines, Decimal("0"))

    assert not q.has_discount
    assert q.discount == Decimal("0.00")
    assert q.total == q.subtotal + q.shipping


@given(lines_strategy, rates)
def test_shipping_is_free_exactly_when_the_discounted_goods_reach_the_threshold(lines, rate):
    q = price(lines, rate)

    if lines and q.subtotal - q.discount < FREE_FROM:
        assert q.shipping == FEE
    else:
        assert q.shipping == Decimal("0.00")


@given(lines_strategy, rates, rates)
def test_a_bigger_rate_never_gives_a_smaller_discount(lines, a, b):
    low, high = sorted([a, b])

    assert price(lines, low).discount <= price(lines, high).discount


@given(lines_strategy, rates)
def test_pricing_the_same_basket_twice_gives_the_same_quote(lines, rate):
    assert price(lines, rate) == price(list(lines), rate)


# --------------------------------------------------------------------------- worked examples


def test_two_books_below_the_free_shipping_threshold_pay_the_fee():
    q = price([(1, "Dune", Decimal("42.00"), 1), (2, "Emma", Decimal("19.90"), 2)])

    assert [line.line_total for line in q.lines] == [Decimal("42.00"), Decimal("39.80")]
    assert q.subtotal == Decimal("81.80")
    assert q.shipping == Decimal("10.00")
    assert q.total == Decimal("91.80")


def test_a_five_percent_discount_is_rounded_half_up_once_on_the_discount_line():
    # 5 % of 80.10 is 4.005: half-up gives 4.01 (banker's rounding would give 4.00).
    q = price([(1, "Dune", Decimal("26.70"), 3)], Decimal("0.05"))

    assert q.subtotal == Decimal("80.10")
    assert q.discount == Decimal("4.01")
    assert q.shipping == Decimal("10.00")
    assert q.total == Decimal("86.09")
    assert q.has_discount and q.discount_percent == Decimal("5")


def test_free_shipping_counts_the_goods_after_the_discount_and_includes_the_threshold():
    exactly = price([(1, "A", Decimal("110.00"), 1)], Decimal("0.10"))  # 110 - 11 = 99.00
    just_below = price([(1, "A", Decimal("109.99"), 1)], Decimal("0.10"))  # 109.99 - 11.00

    assert exactly.shipping == Decimal("0.00") and exactly.total == Decimal("99.00")
    assert just_below.discount == Decimal("11.00")
    assert just_below.shipping == Decimal("10.00") and just_below.total == Decimal("108.99")


def test_an_empty_basket_costs_nothing_and_ships_nothing():
    q = price([], Decimal("0.15"))

    assert q.lines == () and q.total == Decimal("0.00") and q.shipping == Decimal("0.00")


@pytest.mark.parametrize(
    ("lines", "rate"),
    [
        ([(1, "A", 9.99, 1)], Decimal("0")),  # a float price
        ([(1, "A", Decimal("9.999"), 1)], Decimal("0")),  # a fraction of a cent
        ([(1, "A", Decimal("-1.00"), 1)], Decimal("0")),  # a negative price
        ([(1, "A", Decimal("9.99"), 0)], Decimal("0")),  # no copies
        ([(1, "A", Decimal("9.99"), 1)], Decimal("1.5")),  # a discount above 100 %
        ([(1, "A", Decimal("9.99"), 1)], Decimal("-0.1")),  # a negative discount
        ([(1, "A", Decimal("9.99"), 1)], 0.05),  # a float rate
    ],
)
def test_impossible_input_is_refused_rather_than_rounded(lines, rate):
    with pytest.raises((TypeError, ValueError)):
        price(lines, rate)
