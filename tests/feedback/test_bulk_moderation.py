"""Bulk moderation (issue 22): staff tick reviews in the queue, or select all on the page, and
approve or reject them with one CSRF-protected form; each review goes through the one
`moderate` service and is audited on its own."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from app.core.extensions import db
from app.feedback import reviews
from app.models import AuditEntry, Review, ReviewStatus
from tests.factories import make_book, make_member, make_staff
from tests.pages import log_in, token_in


@pytest.fixture
def queue(app):
    """Three reviews with text waiting for moderation, and a clerk."""
    with app.app_context():
        make_staff(email="clerk@example.test")
        ids = []
        for i, title in enumerate(("Dune", "Emma", "Ulysses")):
            member = make_member(name=f"Reader {i}")
            book = make_book(title=title)
            ids.append(reviews.save_review(member.id, book.id, 4, f"Thoughts on {title}").id)
        db.session.commit()
        return ids


@pytest.fixture
def clerk(client, queue):
    return log_in(client, "clerk@example.test")


def _statuses(app) -> list[ReviewStatus]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Review.status).order_by(Review.id)))


def test_ticked_reviews_are_approved_together_and_each_is_audited(app, clerk, queue):
    response = clerk.post("/admin/reviews/bulk", data={
        "action": "approve", "review_ids": [str(queue[0]), str(queue[2])],
        "page_ids": [str(i) for i in queue], "back_status": "pending"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/reviews?status=pending")
    assert _statuses(app) == [ReviewStatus.APPROVED, ReviewStatus.PENDING, ReviewStatus.APPROVED]
    with app.app_context():
        audited = db.session.execute(sa.select(AuditEntry.action, AuditEntry.target_id)
                                     .order_by(AuditEntry.id)).all()
    assert audited == [("review.approve", queue[0]), ("review.approve", queue[2])]
    page = clerk.get("/admin/reviews").get_data(as_text=True)
    assert "2 reviews approved" in page


def test_select_all_on_this_page_rejects_every_review_shown_with_the_reason(app, clerk, queue):
    clerk.post("/admin/reviews/bulk", data={
        "action": "reject", "all_on_page": "1", "note": "spam wave",
        "page_ids": [str(i) for i in queue]})

    assert _statuses(app) == [ReviewStatus.REJECTED] * 3
    with app.app_context():
        notes = set(db.session.scalars(sa.select(Review.moderation_note)))
    assert notes == {"spam wave"}


def test_nothing_ticked_is_refused_with_a_message_and_nothing_changes(app, clerk, queue):
    response = clerk.post("/admin/reviews/bulk", data={
        "action": "approve", "page_ids": [str(i) for i in queue]}, follow_redirects=True)

    assert "Tick at least one review" in response.get_data(as_text=True)
    assert _statuses(app) == [ReviewStatus.PENDING] * 3


@pytest.mark.parametrize("data", [
    {"action": "publish", "review_ids": "1"},
    {"action": "approve", "review_ids": ["x", "-1", "99999999999999", "1e3"]},
    {"action": "approve", "review_ids": [str(n) for n in range(1, 300)]},
])
def test_odd_input_never_breaks_the_page(app, clerk, queue, data):
    response = clerk.post("/admin/reviews/bulk", data=data)

    assert response.status_code in (303, 400)
    assert _statuses(app) == [ReviewStatus.PENDING] * 3


def test_already_decided_reviews_are_left_alone(app, clerk, queue):
    clerk.post("/admin/reviews/bulk", data={"action": "approve", "review_ids": [str(queue[0])]})
    clerk.post("/admin/reviews/bulk", data={"action": "approve",
                                            "review_ids": [str(i) for i in queue]})

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 3


def test_the_queue_has_one_bulk_form_with_a_token_and_a_labelled_box_per_review(app, clerk, queue):
    app.config["WTF_CSRF_ENABLED"] = True
    html = clerk.get("/admin/reviews").get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")

    form = soup.select_one("form#bulk-moderation")
    boxes = soup.select("input[type=checkbox][name=review_ids][form=bulk-moderation]")
    assert form.select_one("input[name=csrf_token]") is not None
    assert form.select_one("input[name=all_on_page]") is not None
    assert sorted(int(b["value"]) for b in boxes) == sorted(queue)
    for box in boxes:
        label = soup.select_one(f"label[for={box['id']}]")
        assert re.match(r"Select the review of \w+ by Reader \d", label.get_text())
    token = token_in(html)
    assert clerk.post("/admin/reviews/bulk", data={
        "action": "approve", "review_ids": [str(queue[1])]}).status_code == 400  # no token
    assert clerk.post("/admin/reviews/bulk", data={
        "csrf_token": token, "action": "approve",
        "review_ids": [str(queue[1])]}).status_code == 303
    assert _statuses(app)[1] is ReviewStatus.APPROVED


def test_bulk_moderation_locks_and_audits_on_postgresql_too(pg_app):
    with pg_app.app_context():
        clerk = make_staff(email="clerk@example.test")
        ids = [reviews.save_review(make_member().id, make_book().id, 5, "Fine").id
               for _ in range(3)]
        db.session.commit()
        with pg_app.test_request_context():
            changed = reviews.moderate_many(ids + [ids[0]], clerk, approve=False, note="dup")
        db.session.commit()

        assert changed == 3
        assert set(db.session.scalars(sa.select(Review.status))) == {ReviewStatus.REJECTED}
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))
                                 .where(AuditEntry.action == "review.reject")) == 3
