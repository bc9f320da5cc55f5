"""Confidence intervals for comparing a treated group with a hold-out (pure; numpy/scipy).

- A difference of two proportions (conversion): Newcombe's hybrid score interval, method 10 of
  R. G. Newcombe (1998), "Interval estimation for the difference between independent
  proportions: comparison of eleven methods", Statistics in Medicine 17, 873-890. Each
  proportion gets its Wilson score interval (l_i, u_i); for d = p1 - p2,
      lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2),  upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
  It stays inside [-1, 1], behaves with zero buyers, and holds its coverage with small groups.
- A difference of two means (revenue per member, zeros included): Welch's t interval,
      d +- t(df) sqrt(s1^2/n1 + s2^2/n2),  df by Welch-Satterthwaite;
  it does not assume equal variances (the groups differ in size and spread).
- How many more members would narrow an interval to +-X (`members_needed`): an interval's
  half-width falls as 1/sqrt(n) when the rates and the split stay as they are, so n members
  with half-width h need about n (h / X)^2 in all for +-X; the answer is that minus n, rounded up,
  capped at MEMBERS_NEEDED_CAP ("more than").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.lazy import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    confidence: float = CONFIDENCE

    @property
    def includes_zero(self) -> bool:
        return self.low <= 0.0 <= self.high

    @property
    def half_width(self) -> float:
        """The larger distance from the estimate to an end (the interval's +-)."""
        return max(self.estimate - self.low, self.high - self.estimate)


def _z(confidence: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval for a proportion (n > 0)."""
    if n <= 0:
        raise ValueError("a proportion needs at least one member")
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int,
                        confidence: float = CONFIDENCE) -> Interval:
    """Interval for p1 - p2 (k1 of n1 against k2 of n2), Newcombe's hybrid score method."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, confidence)
    l2, u2 = wilson(k2, n2, confidence)
    d = p1 - p2
    return Interval(d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
                    d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2), confidence)


def welch_difference(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                     confidence: float = CONFIDENCE,
                     resolution: float | None = None) -> Interval | None:
    """Interval for mean(a) - mean(b), Welch's t. None when a group has fewer than two values
    or neither varies (nothing to estimate the spread from).

    The estimate is the difference of the means without their rounding noise: a difference
    within a few ulps of the means is zero (0.1 + 0.2 against 0.3 is no difference). With a
    `resolution` (0.01 for money) the estimate is a whole number of those steps, anything
    under half a step being zero, and the interval is centred on it."""
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = x.size, y.size
    if n1 < 2 or n2 < 2:
        return None
    v1, v2 = x.var(ddof=1) / n1, y.var(ddof=1) / n2
    se2 = v1 + v2
    m1, m2 = math.fsum(x) / n1, math.fsum(y) / n2
    d = m1 - m2
    if abs(d) <= 8 * np.finfo(float).eps * max(abs(m1), abs(m2)):
        d = 0.0
    if resolution:
        d = round(d / resolution) * resolution
        d = round(d, max(0, -math.floor(math.log10(resolution))) + 2) + 0.0  # no -0.0
    if se2 <= 0:
        return None
    df = se2 ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(se2)
    return Interval(d, d - half, d + half, confidence)


# Past this many more members, "about N more members" says nothing useful: the report says
# "more than" this instead (`members_needed` caps its answer here).
MEMBERS_NEEDED_CAP = 1_000_000


def members_needed(members: int, interval: Interval, target: float,
                   cap: int | None = MEMBERS_NEEDED_CAP) -> int | None:
    """About how many MORE members (same split, same rates) would bring the interval's
    half-width down to `target`; None when that cannot be said (no width or no target).
    At most `cap` (None: no cap), an answer equal to it meaning "more than `cap`"."""
    half = interval.half_width
    if members <= 0 or half <= 0 or target <= 0:
        return None
    ratio = half / target
    if cap is not None and members * ratio * ratio >= members + cap:
        return cap
    return max(0, math.ceil(members * ratio ** 2) - members)


def target_precision(interval: Interval, resolution: float = 0.0) -> float:
    """The +-X the page asks for when an interval includes zero: the size of the difference
    seen so far (so that a real effect that large would show), or half the present width when
    nothing has been seen yet (an estimate under half a `resolution`, the smallest step the
    page shows: a cent, a tenth of a point); never finer than `resolution`."""
    seen = abs(interval.estimate)
    target = seen if seen and seen >= resolution / 2 else interval.half_width / 2
    return max(target, resolution)
