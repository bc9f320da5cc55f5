"""The customer record shows what the member told us (issue 5's reviews and survey answers) and
where the analysis puts them; erasing the member removes their words but keeps the figures."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db
from app.crm import erasure
from app.feedback import reviews
from app.models import Review, SurveyResponse
from tests.factories import (
    make_admin,
    make_book,
    make_member,
    make_placed_order,
)


def _reader_with_feedback() -> tuple[int, int, int]:
    reader = make_member(name="Rosa Reviewer")
    book = make_book(title="The Quiet Shelf")
    order = make_placed_order(reader)
    reviews.save_review(reader.id, book.id, 2, "The binding fell apart")
    db.session.add(SurveyResponse(member_id=reader.id, order_id=order.id, score=3,
                                  comment="Slow delivery this time"))
    db.session.commit()
    return reader.id, book.id, order.id


def test_the_record_shows_reviews_answers_and_the_analysis_panel(app, staff):
    with app.app_context():
        reader_id, _, order_id = _reader_with_feedback()

    page = staff.get(f"/admin/customers/{reader_id}").get_data(as_text=True)

    assert "Reviews and feedback" in page and 'data-testid="member-reviews"' in page
    assert "The Quiet Shelf" in page and "The binding fell apart" in page and "2/5" in page
    assert 'data-testid="member-answers"' in page and "Slow delivery this time" in page
    # the order is named as everywhere else, by its reference
    assert f"BS-{order_id:07d}" in page and f"#{order_id}<" not in page
    assert "Segment and lifetime value" in page
    assert "Not in the latest analysis yet" in page  # no recompute has run in this test


def test_erasure_removes_what_the_member_wrote_and_keeps_the_scores(ctx):
    reader_id, book_id, _ = _reader_with_feedback()
    reader = db.session.get(type(make_admin()), reader_id)

    erasure.erase_member(reader, make_admin())
    db.session.commit()

    review = db.session.scalar(sa.select(Review).where(Review.member_id == reader_id))
    answer = db.session.scalar(sa.select(SurveyResponse)
                               .where(SurveyResponse.member_id == reader_id))
    assert review.body is None and review.rating == 2
    assert answer.comment is None and answer.score == 3
