"""Automatic cases (issue 20): a detractor's satisfaction answer (0-6) and a one- or two-star
review each open one case, never two, so a detractor is never left unanswered."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db
from app.feedback import reviews
from app.support.models import CasePriority, CaseSource, CaseStatus, SupportCase


def _cases() -> list[SupportCase]:
    return list(db.session.scalars(sa.select(SupportCase).order_by(SupportCase.id)))


def test_a_detractor_opens_exactly_one_case_even_if_the_answer_is_saved_twice(ctx, people):
    reviews.save_survey(people["rita"], people["order"], 3, "Slow delivery")
    reviews.save_survey(people["rita"], people["order"], 2, "Very slow delivery")

    [case] = _cases()
    assert (case.source, case.member_id, case.order_id) == (
        CaseSource.NPS, people["rita"], people["order"])
    assert case.status is CaseStatus.NEW and case.priority is CasePriority.HIGH
    assert "Slow delivery" in case.messages[0].body


def test_passives_and_promoters_open_no_case(ctx, people):
    reviews.save_survey(people["rita"], people["order"], 7)
    reviews.save_survey(people["rita"], people["order"], 10)

    assert _cases() == []


def test_a_one_star_review_opens_one_case_and_a_good_one_none(ctx, people):
    reviews.save_review(people["rita"], people["dune"], 4, "Fine")
    assert _cases() == []

    reviews.save_review(people["rita"], people["dune"], 1, "Pages missing",
                        order_id=people["order"])
    reviews.save_review(people["rita"], people["dune"], 2, "Pages missing, still")

    [case] = _cases()
    assert (case.source, case.book_id, case.order_id) == (
        CaseSource.REVIEW, people["dune"], people["order"])
    assert "Dune" in case.subject


def test_the_order_feedback_form_sends_both_answers(app, client, people):
    from tests.pages import log_in

    log_in(client, "rita@example.test")
    response = client.post(f"/feedback/order/{people['order']}", data={
        f"rating_{people['dune']}": "1", f"review_{people['dune']}": "",
        "score": "0", "comment": "Never again"})

    assert response.status_code == 302
    with app.app_context():
        assert sorted(c.source.value for c in _cases()) == ["nps", "review"]
