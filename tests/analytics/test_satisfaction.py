"""Satisfaction and loyalty (issue 5): NPS, CSAT and average rating by month; repeat rate,
cohort retention and time between orders on small histories computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.analytics import satisfaction
from app.core.extensions import db
from app.models import OrderStatus, Review, ReviewStatus, SurveyResponse
from tests.factories import (
    DEFAULT_PASSWORD,
    make_book,
    make_member,
    make_placed_order,
    make_staff,
)


def at(year, month, day):
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_nps_is_promoters_minus_detractors_in_percent():
    assert satisfaction.nps([10, 9, 8, 7, 6, 0]) == 0.0       # 2 promoters, 2 detractors of 6
    assert satisfaction.nps([10, 10, 9, 5]) == 50.0           # (3 - 1) / 4
    assert satisfaction.nps([0, 3]) == -100.0
    assert satisfaction.nps([]) is None


def test_csat_is_the_share_of_four_and_five_star_ratings():
    assert satisfaction.csat([5, 4, 3, 1]) == 50.0
    assert satisfaction.csat([2]) == 0.0
    assert satisfaction.csat([]) is None


def _rate(member, book, rating, when, status=ReviewStatus.APPROVED, body=None):
    db.session.add(Review(member_id=member.id, book_id=book.id, rating=rating, body=body,
                          status=status, created_at=when, updated_at=when))


def _answer(member, score, when, comment=None):
    order = make_placed_order(member, status=OrderStatus.DELIVERED)
    db.session.add(SurveyResponse(member_id=member.id, order_id=order.id, score=score,
                                  comment=comment, created_at=when, updated_at=when))


def test_monthly_rating_csat_and_nps(ctx):
    m1, m2 = make_member(), make_member()
    b1, b2, b3 = make_book(), make_book(), make_book()
    _rate(m1, b1, 5, at(2026, 1, 3))
    _rate(m2, b1, 2, at(2026, 1, 9), status=ReviewStatus.REJECTED)  # still an opinion
    _rate(m1, b2, 4, at(2026, 2, 1))
    _rate(m1, b3, 3, at(2026, 2, 2))
    _answer(m1, 10, at(2026, 1, 4))
    _answer(m2, 3, at(2026, 1, 5))
    _answer(m2, 8, at(2026, 2, 7))
    db.session.commit()

    result = satisfaction.compute_satisfaction()

    jan, feb = result["months"]
    assert (jan["month"], jan["ratings"], jan["avg_rating"], jan["csat"]) == ("2026-01", 2,
                                                                             3.5, 50.0)
    assert (jan["responses"], jan["promoters"], jan["detractors"], jan["nps"]) == (2, 1, 1, 0.0)
    assert (feb["avg_rating"], feb["csat"], feb["passives"], feb["nps"]) == (3.5, 50.0, 1, 0.0)
    overall = result["overall"]
    assert overall == {"ratings": 4, "avg_rating": 3.5, "csat": 50.0, "responses": 3,
                       "nps": 0.0}


def test_no_feedback_gives_empty_figures(ctx):
    result = satisfaction.compute_satisfaction()
    assert result["months"] == [] and result["overall"]["nps"] is None
    loyalty = satisfaction.compute_loyalty(at(2026, 5, 15))
    assert loyalty["buyers"] == 0 and loyalty["repeat_rate"] is None
    assert loyalty["cohorts"] == [] and loyalty["avg_days_between"] is None


def _order(member, when, status=OrderStatus.PAID):
    make_placed_order(member, status=status, placed_at=when)


def test_repeat_rate_time_between_orders_and_cohorts(ctx):
    m1, m2, m3, m4, m5 = (make_member() for _ in range(5))
    _order(m1, at(2026, 1, 10), OrderStatus.DELIVERED)
    _order(m1, at(2026, 2, 10))
    _order(m1, at(2026, 4, 10), OrderStatus.SHIPPED)
    _order(m2, at(2026, 1, 20))
    _order(m3, at(2026, 2, 5))
    _order(m3, at(2026, 2, 25))
    _order(m4, at(2026, 1, 2), OrderStatus.CANCELLED)  # only cancelled: not a buyer
    _order(m5, at(2026, 3, 2), OrderStatus.PLACED)     # unpaid: not a buyer
    db.session.commit()

    result = satisfaction.compute_loyalty(at(2026, 5, 15))

    assert (result["buyers"], result["repeaters"], result["repeat_rate"]) == (3, 2, 66.7)
    # Per repeat buyer: m1's gaps of 31 and 59 days average 45, m3's one gap is 20; the mean
    # over the two of them is 32.5 (pooling all three gaps would give 36.7).
    assert result["avg_days_between"] == pytest.approx(32.5)
    jan, feb = result["cohorts"]
    assert (jan["month"], jan["size"]) == ("2026-01", 2)
    assert jan["retention"][:6] == [100.0, 50.0, 0.0, 50.0, 0.0, None]  # May so far; June not yet
    assert (feb["month"], feb["size"]) == ("2026-02", 1)
    assert feb["retention"][:5] == [100.0, 0.0, 0.0, 0.0, None]


def test_one_order_members_have_no_gaps_and_no_repeat(ctx):
    _order(make_member(), at(2026, 3, 1))
    db.session.commit()
    result = satisfaction.compute_loyalty(at(2026, 3, 20))
    assert result["repeat_rate"] == 0.0 and result["avg_days_between"] is None
    assert result["cohorts"][0]["retention"][:2] == [100.0, None]


def test_low_scores_with_comments_need_attention_newest_first(ctx):
    member = make_member(name="Grumpy Reader")
    book = make_book(title="Bad Book")
    _answer(member, 2, at(2026, 3, 1), "Late and damaged")
    _answer(member, 9, at(2026, 3, 2), "Great")            # not low
    _answer(member, 5, at(2026, 3, 3))                      # low, but nothing to read
    _rate(member, book, 1, at(2026, 3, 4), body="Pages missing")
    db.session.commit()

    items = satisfaction.needing_attention()

    assert [(i.kind, i.score, i.text) for i in items] == [
        ("review", 1, "Pages missing"), ("survey", 2, "Late and damaged")]
    assert items[0].book_title == "Bad Book" and items[0].member_name == "Grumpy Reader"


def test_the_page_shows_the_figures_and_links_to_the_customer(app, client, auth):
    with app.app_context():
        member = make_member(name="Grumpy Reader")
        _answer(member, 1, at(2026, 3, 1), "Never again")
        _order(member, at(2026, 3, 1))
        make_staff(email="clerk@example.test")
        db.session.commit()
        satisfaction.compute_all(at(2026, 4, 1))
        db.session.commit()
        with app.test_request_context():
            link = satisfaction.customer_url(member.id)
    auth.login("clerk@example.test", DEFAULT_PASSWORD)

    page = client.get("/admin/satisfaction")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Never again" in text and f'href="{link}"' in text
    assert "-100.0" in text  # NPS of a single detractor
    assert 'data-testid="cohorts"' in text and "2026-03" in text
    assert "Per repeat buyer: each member’s own average gap" in text


def test_the_page_before_any_computation_says_how_to_fill_it(app, client, auth):
    with app.app_context():
        make_staff(email="clerk@example.test")
        db.session.commit()
    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    page = client.get("/admin/satisfaction")
    assert page.status_code == 200 and 'data-testid="not-computed"' in page.get_data(
        as_text=True)


def test_members_cannot_see_the_analysis(app, client, auth):
    with app.app_context():
        make_member(email="shopper@example.test")
        db.session.commit()
    auth.login("shopper@example.test", DEFAULT_PASSWORD)
    assert client.get("/admin/satisfaction").status_code == 403
    assert client.get("/admin/forecast").status_code == 403
