"""Segment migration as a Markov chain (pure; no Flask, no database).

From the monthly segment snapshots we count, for each pair of consecutive months, how many
members went from segment i to segment j (`not_joined` -> j counts members who joined during
the month). The transition matrix is the maximum-likelihood estimate
    P[i, j] = n(i -> j) / sum_k n(i -> k)
over the months used. A segment nobody was in (a row with no observations) is taken to stay
where it is (P[i, i] = 1), so every row sums to 1.

Projection: sizes(t + 1) = sizes(t) P + inflow * entry, where `entry` is the not_joined row
of P (where new members land in their first month) and `inflow` the average number of members
who joined per month over the months used. The `not_joined` state itself is not projected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.analytics import segments as seg
from app.core.lazy import numpy as np


@dataclass(frozen=True)
class Chain:
    states: tuple[str, ...]  # the member states (segments), rows and columns of `matrix`
    matrix: np.ndarray  # len(states) x len(states), rows sum to 1
    observed: np.ndarray  # members observed in each from-state (row totals)
    entry: np.ndarray  # where a new member lands, sums to 1 (or all 0 with no joiners)
    inflow: float  # new members per month


def estimate(counts: Mapping[tuple[str, str], int], months: int,
             states: Sequence[str] = seg.SEGMENTS) -> Chain:
    """The chain from transition counts {(from, to): members} summed over `months` pairs."""
    index = {code: i for i, code in enumerate(states)}
    n = len(states)
    tally = np.zeros((n, n), dtype=np.float64)
    joiners = np.zeros(n, dtype=np.float64)
    for (src, dst), count in counts.items():
        if dst not in index:
            continue
        if src == seg.NOT_JOINED:
            joiners[index[dst]] += count
        elif src in index:
            tally[index[src], index[dst]] += count
    observed = tally.sum(axis=1)
    matrix = np.eye(n)
    seen = observed > 0
    matrix[seen] = tally[seen] / observed[seen, None]
    total_joiners = joiners.sum()
    entry = joiners / total_joiners if total_joiners else np.zeros(n)
    inflow = float(total_joiners / months) if months else 0.0
    return Chain(tuple(states), matrix, observed, entry, inflow)


def project(chain: Chain, sizes: Mapping[str, float], months: int,
            with_inflow: bool = True) -> list[dict[str, float]]:
    """Expected segment sizes for each of the next `months` months (month 1 first)."""
    current = np.array([float(sizes.get(code, 0)) for code in chain.states])
    out = []
    for _ in range(months):
        current = current @ chain.matrix
        if with_inflow:
            current = current + chain.inflow * chain.entry
        out.append(dict(zip(chain.states, current.tolist(), strict=True)))
    return out


def steady_state(chain: Chain) -> dict[str, float] | None:
    """The long-run share of each segment without inflow, when the chain has a unique one."""
    values, vectors = np.linalg.eig(chain.matrix.T)
    ones = np.isclose(values, 1.0)
    if ones.sum() != 1:
        return None
    vector = np.real(vectors[:, ones][:, 0])
    vector = vector / vector.sum()
    return dict(zip(chain.states, vector.tolist(), strict=True))
