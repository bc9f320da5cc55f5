"""Pricing rules: what a basket of books costs. Pure functions, no Flask, no database.

The rule, stated once (the member's grade gives the discount rate):

- a line costs `unit_price * quantity` (exact: prices are whole cents);
- the member's discount rate applies to the goods subtotal and is rounded ONCE, half-up to the
  cent (`app.core.money.round_money`), on the discount line; a rate of 0 gives no discount line;
- shipping is free when the subtotal after discount reaches `free_shipping_from` (inclusive),
  otherwise it is `shipping_fee`; an empty basket ships nothing and costs nothing;
- `total = subtotal - discount + shipping`, exactly, so totals always equal the sum of their lines;
- what a line brought in (`allocated_line_revenue`) is its list total minus its share of the
  order's discount (`allocate_discount`): shared in proportion to the lines' list totals, in
  whole cents, largest remainder first (ties to the earlier line), so the lines of an order add
  up exactly to its goods after discount, and the lines plus the shipping fee to its revenue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.core.money import ZERO, from_cents, round_money, to_cents

ONE = Decimal("1")


@dataclass(frozen=True)
class QuoteLine:
    book_id: int
    title: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    discount_rate: Decimal
    discount: Decimal
    shipping: Decimal
    total: Decimal

    @property
    def has_discount(self) -> bool:
        """Whether the discount line is shown at all (only for a rate above 0)."""
        return self.discount_rate > 0

    @property
    def goods_after_discount(self) -> Decimal:
        return self.subtotal - self.discount

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def discount_percent(self) -> Decimal:
        """The rate as a percentage for display, e.g. Decimal('5') for 0.05."""
        return (self.discount_rate * 100).normalize()


def _exact_amount(value: Decimal, what: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be Decimal, got {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be a finite amount >= 0, got {value}")
    rounded = round_money(value)
    if rounded != value:
        raise ValueError(f"{what} {value} has fractions of a cent")
    return rounded  # same value, always written with two decimal places


def quote(
    lines: Sequence[tuple[int, str, Decimal, int]],
    discount_rate: Decimal = Decimal("0"),
    *,
    shipping_fee: Decimal,
    free_shipping_from: Decimal,
) -> Quote:
    """Price `(book_id, title, unit_price, quantity)` lines for a member with `discount_rate`.

    Raises ValueError/TypeError for impossible input (a float, a negative or sub-cent price, a
    quantity below 1, a rate outside 0..1): callers pass database prices, never form values.
    """
    if not isinstance(discount_rate, Decimal):
        raise TypeError(f"discount_rate must be Decimal, got {type(discount_rate).__name__}")
    if not discount_rate.is_finite() or not ZERO <= discount_rate <= ONE:
        raise ValueError(f"discount_rate must be between 0 and 1, got {discount_rate}")
    shipping_fee = _exact_amount(shipping_fee, "shipping_fee")
    free_shipping_from = _exact_amount(free_shipping_from, "free_shipping_from")

    priced: list[QuoteLine] = []
    for book_id, title, unit_price, quantity in lines:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"quantity must be a positive integer, got {quantity!r}")
        unit_price = _exact_amount(unit_price, "unit_price")
        priced.append(
            QuoteLine(
                book_id=book_id,
                title=title,
                unit_price=unit_price,
                quantity=quantity,
                line_total=round_money(unit_price * quantity),  # exact: cents times an integer
            )
        )

    subtotal = round_money(sum((line.line_total for line in priced), ZERO))
    # The one rounding of the whole rule: half-up, on the discount line.
    discount = round_money(subtotal * discount_rate) if discount_rate > 0 else ZERO
    after_discount = subtotal - discount
    if not priced or after_discount >= free_shipping_from:
        shipping = ZERO
    else:
        shipping = shipping_fee
    return Quote(
        lines=tuple(priced),
        subtotal=subtotal,
        discount_rate=discount_rate,
        discount=discount,
        shipping=shipping,
        total=after_discount + shipping,
    )


def allocate_discount(line_totals: Sequence[Decimal], discount: Decimal) -> list[Decimal]:
    """Each line's share of an order's `discount`, in proportion to its list total, in whole
    cents: every line gets the floor of its exact share, then the cents left over go one each
    to the lines with the largest remainders (ties: the earlier line). The shares add up to
    `discount` exactly. The same rule as the SQL in `app.crm.stats.top_sellers`."""
    cents = [to_cents(t) for t in line_totals]
    whole = to_cents(discount)
    subtotal = sum(cents)
    if not subtotal:
        return [from_cents(0) for _ in cents]
    shares = [c * whole // subtotal for c in cents]
    remainders = [c * whole % subtotal for c in cents]
    left = whole - sum(shares)
    for index in sorted(range(len(cents)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return [from_cents(s) for s in shares]


def allocated_line_revenue(line_totals: Sequence[Decimal], discount: Decimal) -> list[Decimal]:
    """What each line brought in: its list total minus its share of the discount."""
    return [t - d for t, d in zip(line_totals, allocate_discount(line_totals, discount),
                                  strict=True)]
