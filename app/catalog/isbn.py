"""ISBN rules (pure): clean, validate, convert between ISBN-10 and ISBN-13."""

from __future__ import annotations

import re

_STRIP = re.compile(r"[\s\-‐‑‒–—]")


def clean(text: str) -> str:
    """Drop spaces and hyphens, upper-case a trailing x: '0-439-02348-x' -> '043902348X'."""
    return _STRIP.sub("", text or "").upper()


def isbn10_check_digit(first9: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_valid_isbn10(code: str) -> bool:
    code = clean(code)
    return bool(re.fullmatch(r"\d{9}[\dX]", code)) and isbn10_check_digit(code[:9]) == code[9]


def is_valid_isbn13(code: str) -> bool:
    code = clean(code)
    return (
        bool(re.fullmatch(r"97[89]\d{10}", code)) and isbn13_check_digit(code[:12]) == code[12]
    )


def to_isbn13(isbn10: str) -> str:
    """ISBN-13 for a valid ISBN-10 (prefix 978, new check digit)."""
    core = "978" + clean(isbn10)[:9]
    return core + isbn13_check_digit(core)


def to_isbn10(isbn13: str) -> str | None:
    """ISBN-10 for a 978- ISBN-13; 979- numbers have none."""
    code = clean(isbn13)
    if not code.startswith("978"):
        return None
    core = code[3:12]
    return core + isbn10_check_digit(core)


def normalize(text: str) -> str | None:
    """A valid ISBN-13 for any valid ISBN-10 or ISBN-13 input, else None."""
    code = clean(text)
    if len(code) == 10 and is_valid_isbn10(code):
        return to_isbn13(code)
    if len(code) == 13 and is_valid_isbn13(code):
        return code
    return None


def from_goodbooks(raw: str) -> str | None:
    """The goodbooks `isbn` column lost its leading zeros: pad to 10 and check the digit."""
    raw = (raw or "").strip()
    if not raw:
        return None
    code = clean(raw).rjust(10, "0")
    return code if is_valid_isbn10(code) else None
