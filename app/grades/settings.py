"""The grade settings read from the app config, checked on every read.

- TIER_WINDOW_MONTHS: None (the default) counts all time towards the grade; N (1..1200) counts
  only orders paid in the last N calendar months, and then `flask tiers recompute` should run
  daily so grades follow as orders age out.
- TIER_DEMOTION: "demote" (default) lowers a grade as soon as the spend falls below it; "keep"
  holds it until its window ends (for good when the window is all time).
- REFUND_GRADE_POLICY: what a refund does to the grade it lowers the spend below: "demote"
  (default) lowers it at once; "keep" holds it as TIER_DEMOTION "keep" does. Either way the
  refund comes off the qualifying spend.

A value outside these raises RuntimeError: a misconfigured shop must not grade silently wrong.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from app.core.db import utcnow
from app.grades import grading
from app.grades.grading import Demotion


def window_months() -> int | None:
    """The grade window in months; None when all time counts."""
    months = current_app.config.get("TIER_WINDOW_MONTHS")
    if months is None:
        return None
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 1200:
        raise RuntimeError("TIER_WINDOW_MONTHS must be None (all time) or 1..1200 months")
    return months


def demotion_policy() -> Demotion:
    try:
        return Demotion(current_app.config.get("TIER_DEMOTION", "demote"))
    except ValueError:
        raise RuntimeError('TIER_DEMOTION must be "demote" or "keep"') from None


def refund_policy() -> Demotion:
    """How a grade follows a refund (REFUND_GRADE_POLICY)."""
    try:
        return Demotion(current_app.config.get("REFUND_GRADE_POLICY", "demote"))
    except ValueError:
        raise RuntimeError('REFUND_GRADE_POLICY must be "demote" or "keep"') from None


def window_start(now: datetime | None = None) -> datetime | None:
    """The first moment that counts towards the grade; None when all time counts."""
    months = window_months()
    if months is None:
        return None
    return grading.add_months(now or utcnow(), -months)
