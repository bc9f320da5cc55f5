"""ISBN rules: the goodbooks quirks and the 10/13 conversion."""

import pytest

from app.catalog import isbn


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("439023483", "0439023483"), ("043902348X", None), ("", None), ("316015849", "0316015849")],
)
def test_goodbooks_isbn_is_padded_and_checked(raw, expected):
    assert isbn.from_goodbooks(raw) == expected


def test_isbn10_converts_to_isbn13_with_a_new_check_digit():
    assert isbn.to_isbn13("0439023483") == "9780439023481"
    assert isbn.to_isbn10("978-0-439-02348-1") == "0439023483"


@pytest.mark.parametrize(
    "text", ["0439023483", "0-439-02348-3", "978-0-439-02348-1", " 9780439023481 "]
)
def test_normalize_accepts_both_forms_with_or_without_hyphens(text):
    assert isbn.normalize(text) == "9780439023481"


@pytest.mark.parametrize("text", ["0439023484", "9780439023482", "abc", "12345"])
def test_normalize_refuses_bad_check_digits_and_junk(text):
    assert isbn.normalize(text) is None
