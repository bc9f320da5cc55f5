"""Satisfaction and loyalty: ratings, CSAT and NPS by month; repeat purchase, cohort
retention and time between orders. Computed by `compute_all` (the `flask analytics feedback`
command) into `feedback_snapshot` rows; the admin page reads them, plus one live list.

Definitions (all in one place):
- Average rating: mean of every rating members gave (1-5), moderated or not: moderation is
  about publishing text, not about what the member thinks. A month is the month the rating
  was given.
- CSAT: share of ratings that are 4 or 5.
- NPS: % promoters (9-10) minus % detractors (0-6) among survey answers, from -100 to 100.
- A buying member has at least one paid order (paid, shipped or delivered: cancelled and
  unpaid orders do not count). Repeat-purchase rate: buying members with two or more such
  orders / buying members.
- Cohort: the month of a member's first paid order. Retention at month k: share of the cohort
  with a paid order in the k-th calendar month after the cohort month (k = 0 is 100 %).
- Average time between orders: the mean, over repeat buyers (two or more paid orders), of each
  member's own average gap in days between consecutive paid orders ((last - first) /
  (orders - 1)). Every repeat buyer weighs the same, however often they order; pooling every
  gap instead would let the most frequent buyers set the figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, url_for

from app.analytics.feedback_snapshots import save_snapshot
from app.analytics.order_lines import epoch_seconds, month_number
from app.core.db import utcnow
from app.core.extensions import db
from app.feedback.models import Review, SurveyResponse
from app.membership.models import Member
from app.ordering.models import Order

SATISFACTION_KEY = "satisfaction.monthly"
LOYALTY_KEY = "loyalty.cohorts"


# --------------------------------------------------------------------------- arithmetic


def nps(scores: list[int] | tuple[int, ...]) -> float | None:
    """Net Promoter Score of 0-10 answers, or None without answers."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100.0 * (promoters - detractors) / len(scores), 1)


def nps_from_counts(promoters: int, detractors: int, total: int) -> float | None:
    return round(100.0 * (promoters - detractors) / total, 1) if total else None


def csat(ratings: list[int] | tuple[int, ...]) -> float | None:
    """Share (0-100) of ratings that are 4 or 5, or None without ratings."""
    if not ratings:
        return None
    return round(100.0 * sum(1 for r in ratings if r >= 4) / len(ratings), 1)


def _month_expr(column):
    if db.engine.dialect.name == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


# --------------------------------------------------------------------------- satisfaction


def compute_satisfaction() -> dict:
    """Monthly average rating, CSAT and NPS (two GROUP BY queries)."""
    r_month = _month_expr(Review.created_at).label("month")
    ratings = db.session.execute(
        sa.select(r_month, sa.func.count(Review.id), sa.func.sum(Review.rating),
                  sa.func.sum(sa.case((Review.rating >= 4, 1), else_=0)))
        .group_by(r_month)
    ).all()
    s_month = _month_expr(SurveyResponse.created_at).label("month")
    surveys = db.session.execute(
        sa.select(s_month, sa.func.count(SurveyResponse.id),
                  sa.func.sum(sa.case((SurveyResponse.score >= 9, 1), else_=0)),
                  sa.func.sum(sa.case((SurveyResponse.score <= 6, 1), else_=0)))
        .group_by(s_month)
    ).all()
    months: dict[str, dict] = {}

    def blank(month: str) -> dict:
        return months.setdefault(month, {
            "month": month, "ratings": 0, "avg_rating": None, "csat": None,
            "responses": 0, "promoters": 0, "passives": 0, "detractors": 0, "nps": None})

    totals = {"ratings": 0, "rating_sum": 0, "satisfied": 0,
              "responses": 0, "promoters": 0, "detractors": 0}
    for month, count, total, satisfied in ratings:
        row = blank(month)
        row["ratings"] = int(count)
        row["avg_rating"] = round(int(total) / int(count), 2)
        row["csat"] = round(100.0 * int(satisfied) / int(count), 1)
        totals["ratings"] += int(count)
        totals["rating_sum"] += int(total)
        totals["satisfied"] += int(satisfied)
    for month, count, promoters, detractors in surveys:
        row = blank(month)
        row["responses"] = int(count)
        row["promoters"] = int(promoters)
        row["detractors"] = int(detractors)
        row["passives"] = int(count) - int(promoters) - int(detractors)
        row["nps"] = nps_from_counts(int(promoters), int(detractors), int(count))
        totals["responses"] += int(count)
        totals["promoters"] += int(promoters)
        totals["detractors"] += int(detractors)
    overall = {
        "ratings": totals["ratings"],
        "avg_rating": (round(totals["rating_sum"] / totals["ratings"], 2)
                       if totals["ratings"] else None),
        "csat": (round(100.0 * totals["satisfied"] / totals["ratings"], 1)
                 if totals["ratings"] else None),
        "responses": totals["responses"],
        "nps": nps_from_counts(totals["promoters"], totals["detractors"], totals["responses"]),
    }
    return {"months": [months[m] for m in sorted(months)], "overall": overall}


# --------------------------------------------------------------------------- loyalty


def month_label(number: int) -> str:
    """"YYYY-MM" of a month number (year * 12 + month - 1)."""
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def month_number_of(when: datetime) -> int:
    return when.year * 12 + when.month - 1


def compute_loyalty(now: datetime | None = None) -> dict:
    """Repeat rate, mean days between orders and the cohort table, aggregated in the database
    (two GROUP BY queries over paid orders; a few hundred rows come back).

    The average time between orders is per repeat buyer first (their gaps add up to
    last - first, so their own mean gap is (last - first) / (orders - 1)), then the mean of
    those over repeat buyers (see the module docstring)."""
    now = now or utcnow()
    months = int(current_app.config.get("COHORT_MONTHS", 12))
    current = month_number_of(now)
    paid = (
        sa.select(Order.member_id.label("member_id"),
                  month_number(Order.placed_at).label("month"),
                  epoch_seconds(Order.placed_at).label("at"))
        .where(Order.is_paid)
        .cte("paid")
    )
    firsts = (
        sa.select(paid.c.member_id, sa.func.min(paid.c.month).label("cohort"),
                  sa.func.count().label("orders"), sa.func.min(paid.c.at).label("first_at"),
                  sa.func.max(paid.c.at).label("last_at"))
        .group_by(paid.c.member_id)
        .cte("firsts")
    )
    own_gap = (sa.cast(firsts.c.last_at - firsts.c.first_at, sa.Float)
               / (firsts.c.orders - 1))
    buyers, repeaters, mean_gap_seconds = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((firsts.c.orders >= 2, 1), else_=0)),
                  sa.func.avg(sa.case((firsts.c.orders >= 2, own_gap))))
    ).one()
    buyers, repeaters = int(buyers or 0), int(repeaters or 0)
    offset = (paid.c.month - firsts.c.cohort).label("offset")
    cells = db.session.execute(
        sa.select(firsts.c.cohort, offset, sa.func.count(sa.distinct(paid.c.member_id)))
        .join(firsts, firsts.c.member_id == paid.c.member_id)
        .where(firsts.c.cohort > current - months, offset <= months)
        .group_by(firsts.c.cohort, offset)
    ).all()
    table: dict[int, dict[int, int]] = {}
    for cohort, k, n in cells:
        table.setdefault(int(cohort), {})[int(k)] = int(n)
    cohorts = []
    for cohort in sorted(table):
        size = table[cohort].get(0, 0)
        elapsed = current - cohort
        cohorts.append({
            "month": month_label(cohort),
            "size": size,
            # None marks months that have not happened yet for this cohort.
            "retention": [round(100.0 * table[cohort].get(k, 0) / size, 1)
                          if size and k <= elapsed else None for k in range(months + 1)],
        })
    return {
        "buyers": buyers,
        "repeaters": repeaters,
        "repeat_rate": round(100.0 * repeaters / buyers, 1) if buyers else None,
        "avg_days_between": (round(float(mean_gap_seconds) / 86400, 1)
                             if mean_gap_seconds is not None else None),
        "cohorts": cohorts,
        "max_offset": months,
    }


@dataclass(frozen=True)
class RecomputeReport:
    satisfaction_seconds: float
    loyalty_seconds: float


def compute_all(now: datetime | None = None) -> RecomputeReport:
    now = now or utcnow()
    began = time.perf_counter()
    save_snapshot(SATISFACTION_KEY, compute_satisfaction(), time.perf_counter() - began, now)
    middle = time.perf_counter()
    save_snapshot(LOYALTY_KEY, compute_loyalty(now), time.perf_counter() - middle, now)
    return RecomputeReport(middle - began, time.perf_counter() - middle)


# --------------------------------------------------------------------------- live list


@dataclass(frozen=True)
class Attention:
    kind: str  # "survey" or "review"
    score: int
    scale: int  # 10 or 5
    text: str
    member_id: int
    member_name: str
    at: datetime
    book_title: str | None = None


def needing_attention(limit: int = 20) -> list[Attention]:
    """Low scores with a comment, newest first: survey answers of 0..SATISFACTION_LOW_NPS and
    ratings of 1..SATISFACTION_LOW_RATING (two indexed queries, merged)."""
    from app.catalog.models import Book

    low_nps = current_app.config.get("SATISFACTION_LOW_NPS", 6)
    low_rating = current_app.config.get("SATISFACTION_LOW_RATING", 2)
    surveys = db.session.execute(
        sa.select(SurveyResponse.score, SurveyResponse.comment, SurveyResponse.member_id,
                  Member.name, SurveyResponse.created_at)
        .join(Member, Member.id == SurveyResponse.member_id)
        .where(SurveyResponse.score <= low_nps, SurveyResponse.comment.is_not(None))
        .order_by(SurveyResponse.created_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
    ).all()
    reviews = db.session.execute(
        sa.select(Review.rating, Review.body, Review.member_id, Member.name, Review.created_at,
                  Book.title)
        .join(Member, Member.id == Review.member_id)
        .join(Book, Book.id == Review.book_id)
        .where(Review.rating <= low_rating, Review.body.is_not(None))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(limit)
    ).all()
    items = [Attention("survey", s, 10, c, m, n, t) for s, c, m, n, t in surveys]
    items += [Attention("review", r, 5, b, m, n, t, title) for r, b, m, n, t, title in reviews]
    items.sort(key=lambda a: a.at, reverse=True)
    return items[:limit]


def customer_url(member_id: int) -> str:
    """The customer record when that page exists, else the member's grade page."""
    if "admin.customer" in current_app.view_functions:
        return url_for("admin.customer", member_id=member_id)
    return url_for("admin.member_grade", member_id=member_id)


