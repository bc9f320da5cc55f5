"""Recompute every feedback snapshot in one go (`flask analytics feedback`, the demo seed): the
"also bought" associations, satisfaction and loyalty, and the reorder forecast."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from app.analytics import associations, forecast, satisfaction
from app.core.db import utcnow


@dataclass(frozen=True)
class FeedbackRecompute:
    """Seconds per step of `recompute_feedback`, and what the associations step found."""

    timings: dict[str, float]
    rules: int
    buyers: int

    @property
    def total(self) -> float:
        return sum(self.timings.values())


def recompute_feedback(now: datetime | None = None) -> FeedbackRecompute:
    """Associations, satisfaction, loyalty and forecast, all as of `now` (flushes; the caller
    commits)."""
    now = now or utcnow()
    timings: dict[str, float] = {}
    began = time.perf_counter()
    report = associations.compute(now)
    timings["associations"] = time.perf_counter() - began
    step = satisfaction.compute_all(now)
    timings["satisfaction"] = step.satisfaction_seconds
    timings["loyalty"] = step.loyalty_seconds
    began = time.perf_counter()
    forecast.compute(now)
    timings["forecast"] = time.perf_counter() - began
    return FeedbackRecompute(timings=timings, rules=report.rules, buyers=report.members)
