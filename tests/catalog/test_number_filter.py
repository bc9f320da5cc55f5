"""The `number` filter writes counts and ratings as Babel does for the reader's language."""

from __future__ import annotations

import pytest
from babel import numbers as babel_numbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.catalog.web.views import number_filter
from app.core.i18n import force_locale

COUNTS = [0, 7, 999, 1000, 12345, 999999, 1000000, 4780653, 10**12 + 1]


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_a_count_is_written_as_babel_writes_it_in_each_language_of_the_shop(app, locale):
    with app.test_request_context("/"), force_locale(locale):
        assert [number_filter(n) for n in COUNTS] == [
            babel_numbers.format_decimal(n, locale=locale) for n in COUNTS]


def test_a_language_that_groups_otherwise_is_left_to_babel(app):
    with app.test_request_context("/"), force_locale("hi_IN"):
        assert number_filter(12345678) == "1,23,45,678"


def test_ratings_negative_numbers_and_nothing(app):
    with app.test_request_context("/"), force_locale("en"):
        assert number_filter(4.256, 1) == "4.3"
        assert number_filter(-1234) == babel_numbers.format_decimal(-1234, locale="en")
        assert number_filter(None) == ""


RATINGS = [0.0, 0.04, 0.05, 0.15, 0.25, 2.25, 2.35, 2.675, 3.14159, 4.256, 4.95, 4.9999,
           5.0, 999.95, 1234.55, 1000000.05, 123456789.125]


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
@pytest.mark.parametrize("decimals", [1, 2])
def test_a_rating_is_written_as_babel_writes_it_rounded_the_same_way(app, locale, decimals):
    with app.test_request_context("/"), force_locale(locale):
        assert [number_filter(x, decimals) for x in RATINGS] == [
            babel_numbers.format_decimal(round(x, decimals),
                                         format="#,##0." + "0" * decimals, locale=locale)
            for x in RATINGS]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # the app only reads
@given(value=st.floats(min_value=0, max_value=1e12), decimals=st.sampled_from([1, 2]),
       locale=st.sampled_from(["en", "zh_Hans"]))
def test_any_rating_reads_as_babel_writes_it(app, value, decimals, locale):
    with app.test_request_context("/"), force_locale(locale):
        assert number_filter(value, decimals) == babel_numbers.format_decimal(
            round(value, decimals), format="#,##0." + "0" * decimals, locale=locale)


def test_what_is_not_a_plain_count_or_rating_is_left_to_babel(app):
    with app.test_request_context("/"), force_locale("en"):
        assert number_filter(float("nan"), 1) == babel_numbers.format_decimal(
            float("nan"), format="#,##0.0", locale="en")
        assert number_filter(-2.25, 1) == babel_numbers.format_decimal(
            round(-2.25, 1), format="#,##0.0", locale="en")
        assert number_filter(5, 1) == "5.0"
        assert number_filter(2.5) == babel_numbers.format_decimal(2.5, locale="en")
    with app.test_request_context("/"), force_locale("hi_IN"):
        assert number_filter(1234567.25, 1) == babel_numbers.format_decimal(
            1234567.2, format="#,##0.0", locale="hi_IN")
