"""The `number` filter writes counts and ratings as Babel does for the reader's language."""

from __future__ import annotations

import pytest
from babel import numbers as babel_numbers

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
