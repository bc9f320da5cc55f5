"""RFM scoring (pure numpy; no Flask, no database).

- Recency: whole days from the member's last counting order to the moment of the snapshot.
- Frequency: the number of counting orders (paid, shipped or delivered) placed before then.
- Monetary: the sum of those orders' totals (what the member paid; the same spend as grades).

Scores are quintiles 1..5 among the members who have bought (5 = best: most recent, most
orders, most spend), from SQL's PERCENT_RANK, which handles ties deterministically: a value's
rank is that of the first of its equals, pr = (members with a worse value) / (buyers - 1), and
the score is 1 + floor(5 pr), at most 5. Equal values always get equal scores, whatever the
order the rows came in; the lowest value always scores 1 (a big group of one-order members
has frequency 1, so "New" and "Lost" exist), the best unique value 5. One buyer alone: 1.
Segments follow from the scores by the grid
in app.analytics.segments.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from app.analytics import segments as seg
from app.core.lazy import numpy as np

STATE_INDEX = {code: i for i, code in enumerate(seg.STATES)}
PROSPECT_I = STATE_INDEX[seg.PROSPECT]
NOT_JOINED_I = STATE_INDEX[seg.NOT_JOINED]


@functools.cache
def segment_lut() -> np.ndarray:
    """lut[r, f, m] -> index of the segment in STATES, built from segments.segment_for."""
    lut = np.zeros((6, 6, 6), dtype=np.int16)
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                lut[r, f, m] = STATE_INDEX[seg.segment_for(r, f, m)]
    return lut


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """Scores 1..5 by percent rank; higher values score higher (see the module doc)."""
    values = np.asarray(values)
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.concatenate(([0], np.cumsum(counts)[:-1]))
    # 1 + floor(5 * below / (n - 1)) in integers: no float rounding at the quintile edges
    scores = 1 + (5 * below) // (n - 1) if n > 1 else np.ones(below.size, dtype=np.int64)
    return np.minimum(scores, 5)[inverse].astype(np.int8)


@dataclass
class Orders:
    """Counting orders, any order: index of the member (into the member arrays), the day it was
    placed (fractional days on any fixed scale, e.g. Julian days) and its total in cents."""

    member: np.ndarray  # int64
    day: np.ndarray  # float64
    cents: np.ndarray  # int64


@dataclass
class Rfm:
    """RFM of every member as of one moment; index i is member i. Non-buyers have frequency 0,
    recency -1 and scores 0; `state` is the index of the segment in segments.STATES."""

    frequency: np.ndarray
    monetary_cents: np.ndarray
    last_day: np.ndarray
    recency_days: np.ndarray
    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    state: np.ndarray

    @property
    def buyers(self) -> np.ndarray:
        return self.frequency > 0


def rfm_at(orders: Orders, n_members: int, at_day: float,
           joined_day: np.ndarray | None = None) -> Rfm:
    """RFM of `n_members` members from their orders placed before `at_day`.

    With `joined_day`, members who joined at or after `at_day` are in state not_joined.
    """
    before = orders.day < at_day
    member = orders.member[before]
    frequency = np.bincount(member, minlength=n_members).astype(np.int64)
    monetary = np.bincount(member, weights=orders.cents[before],
                           minlength=n_members).round().astype(np.int64)
    last = np.full(n_members, -np.inf)
    np.maximum.at(last, member, orders.day[before])
    buyers = frequency > 0
    recency = np.full(n_members, -1, dtype=np.int64)
    recency[buyers] = np.floor(at_day - last[buyers]).astype(np.int64)

    r = np.zeros(n_members, dtype=np.int8)
    f = np.zeros(n_members, dtype=np.int8)
    m = np.zeros(n_members, dtype=np.int8)
    r[buyers] = quintile_scores(-recency[buyers])
    f[buyers] = quintile_scores(frequency[buyers])
    m[buyers] = quintile_scores(monetary[buyers])

    state = np.full(n_members, PROSPECT_I, dtype=np.int16)
    state[buyers] = segment_lut()[r[buyers], f[buyers], m[buyers]]
    if joined_day is not None:
        state[(joined_day >= at_day) & ~buyers] = NOT_JOINED_I
    last[~buyers] = np.nan
    return Rfm(frequency, monetary, last, recency, r, f, m, state)
