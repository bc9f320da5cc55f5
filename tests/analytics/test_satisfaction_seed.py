"""The demo data gets reviews and survey answers (issue 5), and the pages have snapshots."""

from __future__ import annotations

import sqlalchemy as sa

from app.analytics import satisfaction
from app.analytics.feedback_snapshots import load_snapshot
from app.core.db import utcnow
from app.core.extensions import db
from app.models import OrderStatus, Review, SurveyResponse
from app.seed.feedback import seed_feedback
from tests.factories import make_book, make_member, make_placed_order


def test_seed_feedback_adds_reviews_answers_and_snapshots(ctx):
    books = [make_book(stock_on_hand=100) for _ in range(4)]
    for n in range(40):
        make_placed_order(make_member(), lines=[(books[n % 4], 1), (books[(n + 1) % 4], 1)],
                          status=OrderStatus.DELIVERED, delivered_at=utcnow())
    db.session.commit()

    report = seed_feedback()
    db.session.commit()

    assert report.reviews > 0 and report.answers > 0
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == report.reviews
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == report.answers
    snap = load_snapshot(satisfaction.SATISFACTION_KEY)
    assert snap.payload["overall"]["ratings"] == report.reviews
    seed_feedback()  # again: never a second rating of a book or answer for an order
    db.session.commit()
