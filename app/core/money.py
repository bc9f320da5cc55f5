"""Money rules, stated once: amounts are `Decimal`, rounded half-up to the cent.

Half-up (0.005 -> 0.01) is what shoppers expect from a till and what the tier issue (#7) asks
for. Every rounding of money in Bookstation goes through `round_money`; nothing else calls
`quantize` on money. The database stores integer cents (see `app.core.db.Money`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    """Round to the cent, half-up. The one rounding rule for money."""
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be Decimal, got {type(value).__name__}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(value: Decimal) -> int:
    """Exact cents of an amount that is already rounded; refuses fractions of a cent."""
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be Decimal, got {type(value).__name__}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} has fractions of a cent; round it first")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def parse_money(text: str) -> Decimal | None:
    """Parse user input like '12.5' or '12.50'; None if it is not a sane amount."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    if not value.is_finite() or value < 0 or value > Decimal("1000000"):
        return None
    return round_money(value)
