"""A CSV cell keeps numbers as numbers a spreadsheet can sum, and neutralises text a
spreadsheet would run as a formula (OWASP CSV injection): the rule in app.core.exports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.exports import Text, csv_safe


@pytest.mark.parametrize(("value", "cell"), [
    (-3, "-3"), (0, "0"), (Decimal("-0.50"), "-0.50"), (Decimal("1E+3"), "1000"),
    (-0.5, "-0.5"), ("-0.5", "-0.5"), ("+3", "+3"), ("-2", "-2"), ("1e-3", "1e-3"),
    ("12.", "12."), (".5", ".5"),
])
def test_numbers_and_text_that_is_a_plain_number_are_written_as_numbers(value, cell):
    assert csv_safe(value) == cell


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("@SUM(A1)", "'@SUM(A1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("-1-1", "'-1-1"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("- 5", "'- 5"), ("-", "'-"), ("--1", "'--1"),
    ("-1,000", "'-1,000"), (float("-inf"), "'-inf"), ("ok", "ok"), (None, ""), ("", ""),
    (True, "True"),
])
def test_text_that_starts_like_a_formula_gets_an_apostrophe(value, cell):
    assert csv_safe(value) == cell


def test_a_phone_number_is_text_so_a_leading_plus_is_neutralised_and_never_a_number():
    assert csv_safe(Text("+86 138 0013 8000")) == "'+86 138 0013 8000"
    assert csv_safe(Text("+8613800138000")) == "'+8613800138000"
    assert csv_safe(Text("010 6552 9988")) == "010 6552 9988"
    assert csv_safe(Text("")) == ""
