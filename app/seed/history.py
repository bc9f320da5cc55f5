"""Two years of believable order history, planned in memory from a seeded random generator.

The shape, loosely after the buy-till-you-die models (Pareto/NBD) that later analytics fit:

- some members never buy, about a third buy once, the rest repeat at a personal rate drawn from
  a skewed (gamma) distribution, so a few loyal members buy very often; some repeaters drift
  away after a while;
- orders follow the calendar: more around Double 11 (1-11 November), 618 (1-18 June), World
  Book Day, December and the start of term, fewer over the Spring Festival, a little more at
  weekends, and the shop grows over the two years;
- each member has two favourite categories; popular books (many Goodreads ratings) sell more,
  and only books already in the shop can be bought;
- statuses follow from the age of the order: old orders are delivered, recent ones placed,
  paid or shipped; about 3 % are cancelled (before shipping, as the order life cycle allows).
  Every step follows `app.ordering.orders.ALLOWED` (placed → paid → shipped → delivered), so
  pay-on-delivery orders too are marked paid (confirmed by staff) before they ship.

Nothing here touches the database; `app.seed.loader` writes the plans.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.ordering.models import OrderStatus
from app.seed.people import PersonPlan

LINES_PER_ORDER = ((1, 0.52), (2, 0.27), (3, 0.13), (4, 0.08))
QUANTITIES = ((1, 0.88), (2, 0.09), (3, 0.03))
CANCEL_SHARE = 0.03
COD_SHARE = 0.55
SEASON_MAX = 2.0 * 1.15 * 1.25  # the largest value `season` can return


@dataclass(frozen=True)
class HistoryShape:
    """How much history to make; `repeat_rate` is the mean orders per year of a repeater."""

    never_share: float = 0.08
    once_share: float = 0.35
    repeat_rate: float = 24.0
    churn_share: float = 0.35


@dataclass
class OrderPlan:
    person: int  # index into the people list
    placed_at: datetime
    lines: list[tuple[int, int]]  # (book index, quantity)
    payment_method: str
    status: OrderStatus = OrderStatus.PLACED
    paid_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    steps: list[tuple[OrderStatus | None, OrderStatus, datetime]] = field(default_factory=list)


class BookPicker:
    """Draws books by popularity among those on sale at a given time (optionally by category)."""

    def __init__(self, arrivals: Sequence[datetime], weights: Sequence[float],
                 categories: Sequence[str]) -> None:
        order = sorted(range(len(arrivals)), key=lambda i: (arrivals[i], i))
        self._pools: dict[str | None, tuple[list[datetime], list[float], list[int]]] = {}
        self._pools[None] = self._pool(order, arrivals, weights)
        for slug in sorted(set(categories)):
            members = [i for i in order if categories[i] == slug]
            self._pools[slug] = self._pool(members, arrivals, weights)
        self.category_sizes = {slug: len(pool[2]) for slug, pool in self._pools.items() if slug}

    @staticmethod
    def _pool(indices, arrivals, weights):
        times, cumulative, total = [], [], 0.0
        for i in indices:
            total += weights[i]
            times.append(arrivals[i])
            cumulative.append(total)
        return times, cumulative, list(indices)

    def pick(self, rng: random.Random, when: datetime, category: str | None = None) -> int:
        times, cumulative, indices = self._pools.get(category) or self._pools[None]
        available = bisect.bisect_right(times, when)
        if available == 0:
            if category is not None:
                return self.pick(rng, when)
            available = 1  # before anything arrived: the first book stocked
        x = rng.random() * cumulative[available - 1]
        return indices[min(bisect.bisect_right(cumulative, x), available - 1)]


def season(when: datetime, start: datetime, window: timedelta) -> float:
    """Relative order intensity on a given day (1.0 is an ordinary weekday at mid-history)."""
    month, day = when.month, when.day
    if month == 11 and day <= 11:
        factor = 2.0  # Double 11
    elif month == 6 and day <= 18:
        factor = 1.6  # 618
    elif month == 4 and 20 <= day <= 26:
        factor = 1.5  # World Book Day, 23 April
    elif month == 12:
        factor = 1.35
    elif month == 9:
        factor = 1.15  # back to school
    elif (month == 1 and day >= 20) or (month == 2 and day <= 15):
        factor = 0.7  # Spring Festival
    else:
        factor = 1.0
    if when.weekday() >= 5:
        factor *= 1.15
    growth = 0.75 + 0.5 * min(1.0, max(0.0, (when - start) / window))
    return factor * growth


def _weighted(rng: random.Random, options: Sequence[tuple[int, float]]) -> int:
    x, total = rng.random(), 0.0
    for value, share in options:
        total += share
        if x < total:
            return value
    return options[-1][0]


def arrivals(rng: random.Random, first: datetime, end: datetime, rate_per_year: float,
              start: datetime, window: timedelta) -> list[datetime]:
    """Order times from `first` to `end`: a Poisson process thinned by the season."""
    times = [first]
    peak_per_day = rate_per_year / 365.0 * SEASON_MAX
    if peak_per_day <= 0:
        return times
    t = first
    while True:
        gap = rng.expovariate(peak_per_day)
        if gap >= (end - t) / timedelta(days=1):
            return times
        t += timedelta(days=gap)
        if rng.random() * SEASON_MAX < season(t, start, window):
            times.append(t)


def order_times(rng: random.Random, person: PersonPlan, now: datetime, start: datetime,
                window: timedelta, shape: HistoryShape) -> list[datetime]:
    """When one generated member ordered, if ever."""
    kind = rng.random()
    first = person.joined_at + timedelta(days=rng.expovariate(1 / 6.0))
    if kind < shape.never_share or first >= now:
        return []
    if kind < shape.never_share + shape.once_share:
        return [first]
    rate = shape.repeat_rate * min(4.0, rng.gammavariate(0.7, 1 / 0.7))  # loyal, not absurd
    end = now
    if rng.random() < shape.churn_share:
        end = min(now, first + timedelta(days=rng.expovariate(1 / 180.0)))
    return arrivals(rng, first, end, rate, start, window)


def _later(when: datetime, rng: random.Random, low_hours: float, high_hours: float) -> datetime:
    return when + timedelta(seconds=int(rng.uniform(low_hours, high_hours) * 3600))


def _stamp(plan: OrderPlan, rng: random.Random, now: datetime) -> None:
    """Statuses and timestamps that follow from the order's age (all before `now`)."""
    placed = plan.placed_at
    plan.steps = [(None, OrderStatus.PLACED, placed)]
    if plan.payment_method == "cod":
        paid = _later(placed, rng, 0.3, 6)  # staff confirm the order
    else:
        paid = _later(placed, rng, 2, 40)  # the transfer arrives
    shipped = _later(paid, rng, 4, 48)
    delivered = _later(shipped, rng, 24, 96)
    if rng.random() < CANCEL_SHARE:
        cancelled = _later(placed, rng, 0.5, 30)
        if cancelled <= now:
            if paid < cancelled:
                plan.paid_at = paid
                plan.steps.append((OrderStatus.PLACED, OrderStatus.PAID, paid))
            plan.cancelled_at = cancelled
            plan.steps.append((plan.steps[-1][1], OrderStatus.CANCELLED, cancelled))
            plan.status = OrderStatus.CANCELLED
            return
    for status, attr, at in ((OrderStatus.PAID, "paid_at", paid),
                             (OrderStatus.SHIPPED, "shipped_at", shipped),
                             (OrderStatus.DELIVERED, "delivered_at", delivered)):
        if at > now:
            break
        setattr(plan, attr, at)
        plan.steps.append((plan.status, status, at))
        plan.status = status


def plan_history(
    rng: random.Random,
    people: Sequence[PersonPlan],
    picker: BookPicker,
    now: datetime,
    start: datetime,
    window: timedelta,
    shape: HistoryShape,
    fixed: dict[int, list[datetime]] | None = None,
) -> list[OrderPlan]:
    """Every order of every person, oldest first. `fixed` gives some people set order times."""
    slugs = sorted(picker.category_sizes)
    slug_weights = [picker.category_sizes[s] for s in slugs]
    plans: list[OrderPlan] = []
    for index, person in enumerate(people):
        if fixed is not None and index in fixed:
            times = fixed[index]
        else:
            times = order_times(rng, person, now, start, window, shape)
        favourites = rng.choices(slugs, weights=slug_weights, k=2) if slugs else []
        for when in times:
            when = when.replace(microsecond=0)
            count = _weighted(rng, LINES_PER_ORDER)
            chosen: dict[int, int] = {}
            for _ in range(count * 3):  # a few tries to find distinct books
                if len(chosen) == count:
                    break
                category = rng.choice(favourites) if favourites and rng.random() < 0.5 else None
                book = picker.pick(rng, when, category)
                if book not in chosen:
                    chosen[book] = _weighted(rng, QUANTITIES)
            plan = OrderPlan(
                person=index,
                placed_at=when,
                lines=sorted(chosen.items()),
                payment_method="cod" if rng.random() < COD_SHARE else "bank_transfer",
            )
            _stamp(plan, rng, now)
            plans.append(plan)
    plans.sort(key=lambda p: (p.placed_at, p.person))
    return plans


def sold_counts(plans: Sequence[OrderPlan], book_count: int) -> list[int]:
    """Copies sold per book index: every order line except those of cancelled orders."""
    sold = [0] * book_count
    for plan in plans:
        if plan.status is not OrderStatus.CANCELLED:
            for book, quantity in plan.lines:
                sold[book] += quantity
    return sold
