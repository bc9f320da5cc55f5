"""Reviews and survey answers in the demo data, then the feedback snapshots.

About a third of the delivered orders (at most MAX_ORDERS, the newest first) get feedback a few
days after delivery: star ratings of their books (mostly 4-5, some low), a short review now
and then, and an answer to the 0-10 question, some with a comment. Most reviews are approved,
a few wait for moderation (so the admin page has work) and a few were rejected. The same
random seed gives the same feedback every time. `seed_feedback` then computes the
association, satisfaction, loyalty and forecast snapshots so the pages show something at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.feedback.models import Review, ReviewStatus, SurveyResponse
from app.ordering.models import Order, OrderLine, OrderStatus

SEED = 20265
SHARE = 0.35
MAX_ORDERS = 4000
CHUNK = 2000

REVIEWS = {
    5: ["Could not put it down.", "A new favourite; I have already lent it to a friend.",
        "Beautifully written.", "Worth every page."],
    4: ["Very good, a little slow in the middle.", "Enjoyed it a lot.",
        "Good read for the evenings."],
    3: ["All right, not more.", "Some good chapters, some dull ones."],
    2: ["Not for me.", "The translation felt clumsy."],
    1: ["Arrived with a torn cover and pages missing.", "Could not finish it."],
}
COMMENTS = {
    "low": ["The parcel took two weeks.", "The book arrived damaged and nobody answered my mail.",
            "Shipping costs too much for one book."],
    "mid": ["Fine, but delivery could be faster.", "Good choice of books."],
    "high": ["Great shop, quick delivery!", "Always find what I want here.",
             "Lovely packaging, thank you."],
}


@dataclass(frozen=True)
class FeedbackSeedReport:
    reviews: int
    answers: int


def _stars(rng: random.Random) -> int:
    return rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 13, 7, 5])[0]


def _score(rng: random.Random) -> int:
    return rng.choices(range(11), weights=[2, 1, 1, 2, 2, 4, 5, 9, 16, 24, 34])[0]


def seed_feedback(now: datetime | None = None, *, recompute: bool = True) -> FeedbackSeedReport:
    """Add demo reviews and survey answers (flushes; the seed command commits)."""
    rng = random.Random(SEED)
    now = now or utcnow()
    orders = db.session.execute(
        sa.select(Order.id, Order.member_id, Order.delivered_at)
        .where(Order.status == OrderStatus.DELIVERED, Order.delivered_at.is_not(None))
        .order_by(Order.delivered_at.desc(), Order.id.desc())
        .limit(int(MAX_ORDERS / SHARE))
    ).all()
    chosen = [o for o in orders if rng.random() < SHARE][:MAX_ORDERS]
    lines: dict[int, list[int]] = {}
    ids = [o.id for o in chosen]
    for start in range(0, len(ids), 900):
        for order_id, book_id in db.session.execute(
            sa.select(OrderLine.order_id, OrderLine.book_id)
            .where(OrderLine.order_id.in_(ids[start:start + 900]))
        ):
            lines.setdefault(order_id, []).append(book_id)
    seen: set[tuple[int, int]] = {(m, b) for m, b in db.session.execute(
        sa.select(Review.member_id, Review.book_id))}
    answered = set(db.session.scalars(sa.select(SurveyResponse.order_id)))
    reviews: list[dict] = []
    answers: list[dict] = []
    for order in chosen:
        when = min(order.delivered_at + timedelta(days=rng.uniform(0.5, 9)), now)
        for book_id in dict.fromkeys(lines.get(order.id, [])):
            if (order.member_id, book_id) in seen or rng.random() < 0.3:
                continue
            seen.add((order.member_id, book_id))
            stars = _stars(rng)
            body = rng.choice(REVIEWS[stars]) if rng.random() < 0.35 else None
            status = ReviewStatus.APPROVED
            if body is not None:
                status = rng.choices([ReviewStatus.APPROVED, ReviewStatus.PENDING,
                                      ReviewStatus.REJECTED], weights=[80, 15, 5])[0]
            reviews.append({"member_id": order.member_id, "book_id": book_id,
                            "order_id": order.id, "rating": stars, "body": body,
                            "status": status, "created_at": when, "updated_at": when,
                            "moderated_at": when if status is not ReviewStatus.PENDING
                            and body else None})
        if order.id in answered or rng.random() < 0.25:
            continue
        score = _score(rng)
        band = "low" if score <= 6 else "mid" if score <= 8 else "high"
        comment = rng.choice(COMMENTS[band]) if rng.random() < 0.3 else None
        answers.append({"member_id": order.member_id, "order_id": order.id, "score": score,
                        "comment": comment, "created_at": when, "updated_at": when})
    for start in range(0, len(reviews), CHUNK):
        db.session.execute(sa.insert(Review), reviews[start:start + CHUNK])
    for start in range(0, len(answers), CHUNK):
        db.session.execute(sa.insert(SurveyResponse), answers[start:start + CHUNK])
    db.session.flush()
    if recompute:
        from app.analytics.feedback_recompute import recompute_feedback

        recompute_feedback(now)
    return FeedbackSeedReport(reviews=len(reviews), answers=len(answers))
