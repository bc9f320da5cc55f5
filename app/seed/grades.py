"""Member grades in the demo data: the demo reader sits just below a threshold.

`settle_reader_below_threshold` adjusts the reader's planned history in memory, before anything
is written, so that their qualifying spend ends 20 to 28 (CNY) below a grade threshold: one
more book, even the cheapest (19.00 plus shipping, after a 5 % discount), takes them over, and
the demo shows an upgrade, its mail and the bigger discount on the next cart. It changes the
books of the reader's oldest counting order and, when the history is far too rich, drops the
oldest ones; the recent orders (the ones a demo looks at) are never touched.

`grade_everyone` writes the default tier table and grades every member in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from itertools import combinations

from app.grades import grading
from app.grades.bulk_regrade import RegradeReport, regrade_all
from app.grades.models import GradeReason
from app.grades.table import ensure_default_tiers
from app.ordering.models import Order
from app.seed.history import OrderPlan

GAP_LOW = 2_000  # cents: the reader ends at least this far below the threshold ...
GAP_HIGH = 2_800  # ... and at most this far
KEEP_ORDERS = 4  # never drop the reader's history below this many counting orders
SEARCH_BOOKS = 3_000  # candidate books considered (the most-read first)


def _cents(value: Decimal) -> int:
    return int(value * 100)


def _total(lines: Sequence[tuple[int, int]], prices: Sequence[int], fee: int,
           free_from: int) -> int:
    """What `pricing.quote` charges for these lines, without a discount (as the seed writes
    its history), in cents."""
    subtotal = sum(prices[book] * quantity for book, quantity in lines)
    return subtotal + (0 if subtotal >= free_from else fee)


def _compose(low: int, high: int, books: Sequence[int], prices: Sequence[int], fee: int,
             free_from: int) -> list[tuple[int, int]] | None:
    """Order lines (book, quantity) whose total lies in [low, high] cents; one line if one
    will do, else two; None if nothing fits."""
    for book in books:
        for quantity in (1, 2, 3):
            if low <= _total([(book, quantity)], prices, fee, free_from) <= high:
                return [(book, quantity)]
    by_price: dict[int, int] = {}
    for book in books:
        by_price.setdefault(prices[book], book)
    for book_a, book_b in combinations(sorted(by_price.values()), 2):
        if low <= _total([(book_a, 1), (book_b, 1)], prices, fee, free_from) <= high:
            return [(book_a, 1), (book_b, 1)]
    return None


def settle_reader_below_threshold(
    plans: list[OrderPlan],
    reader: int,
    prices: Sequence[Decimal],
    arrivals: Sequence[datetime],
    *,
    fee: Decimal,
    free_from: Decimal,
    rules: Sequence[grading.TierRule] = grading.DEFAULT_RULES,
) -> Decimal | None:
    """Adjust the reader's plans (in place) so their spend ends just below a threshold.

    Returns the reader's qualifying spend afterwards, or None when no adjustment fits (the
    history is then left exactly as planned).
    """
    cents = [_cents(p) for p in prices]
    fee_c, free_c = _cents(fee), _cents(free_from)
    counting = sorted((p for p in plans
                       if p.person == reader and Order.is_paid_status(p.status)),
                      key=lambda p: p.placed_at)
    if not counting:
        return None
    totals = [_total(p.lines, cents, fee_c, free_c) for p in counting]
    spend = sum(totals)
    thresholds = sorted((_cents(r.min_spend) for r in rules if r.min_spend > 0),
                        key=lambda t: (t > spend + GAP_LOW, abs(spend - t)))
    for threshold in thresholds:
        for dropped in range(max(1, len(counting) - KEEP_ORDERS + 1)):
            adjustable = counting[dropped]
            rest = sum(totals[dropped + 1:])
            low, high = threshold - GAP_HIGH - rest, threshold - GAP_LOW - rest
            books = [b for b in range(len(cents)) if arrivals[b] <= adjustable.placed_at]
            if not books or high < min(_total([(b, 1)], cents, fee_c, free_c) for b in books):
                continue  # still too rich: drop one more old order
            lines = _compose(low, high, books[:SEARCH_BOOKS], cents, fee_c, free_c)
            if lines is None:
                break  # this threshold cannot be reached exactly; try the next one
            adjustable.lines = lines
            gone = {id(p) for p in counting[:dropped]}
            plans[:] = [p for p in plans if id(p) not in gone]
            return Decimal(rest + _total(lines, cents, fee_c, free_c)) / 100
    return None


def grade_everyone(now: datetime) -> RegradeReport:
    """The default tier table, and every member graded in one pass (recorded as 'recompute';
    no congratulation mails for the seed). Flushes."""
    ensure_default_tiers()
    return regrade_all(GradeReason.RECOMPUTE, now=now, notify=False, lock=False)
