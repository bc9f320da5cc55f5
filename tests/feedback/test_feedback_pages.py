"""Reviews and the satisfaction question (issue 5): the invitation after delivery reaches the
member over real SMTP with a working link, answers are saved once per book, staff moderate
before anything shows on the book page, and opt-outs are respected."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.feedback import reviews
from app.mail.sender import deliver_due
from app.models import (
    AuditEntry,
    Order,
    OrderStatus,
    OutboxMail,
    Review,
    ReviewStatus,
    SurveyResponse,
)
from app.ordering.orders import change_status
from app.serving import caching
from tests.factories import DEFAULT_PASSWORD, make_book, make_member, make_placed_order, make_staff
from tests.helpers import counting_statements


def deliver(order):
    for status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        change_status(order, status)
    return order


@pytest.fixture
def delivered(app):
    """Rita's delivered order of two books; ids for the tests."""
    with app.app_context():
        rita = make_member(email="rita@example.test", name="Rita Reader")
        dune = make_book(title="Dune", price=Decimal("9.99"))
        emma = make_book(title="Emma", price=Decimal("7.50"))
        order = deliver(make_placed_order(rita, lines=[(dune, 1), (emma, 2)]))
        db.session.commit()
        return {"member": rita.id, "order": order.id, "dune": dune.id, "emma": emma.id}


def test_the_invitation_reaches_the_member_and_its_link_works_without_logging_in(
        app, client, smtp_inbox, delivered):
    with app.app_context():
        report = deliver_due()
    assert len(report.sent) == 1

    [message] = smtp_inbox.parsed()
    assert message["To"] == "rita@example.test"
    text = message.get_body(("plain",)).get_content()
    assert "Dune" in text and "Emma" in text and "Rita Reader" in text
    link = re.search(r"http://localhost(/feedback/t/\S+)", text).group(1)
    assert link in message.get_body(("html",)).get_content()

    page = client.get(link)
    assert page.status_code == 200
    assert "Dune" in page.get_data(as_text=True)

    response = client.post(link, data={
        f"rating_{delivered['dune']}": "5", f"review_{delivered['dune']}": "A desert epic.",
        f"rating_{delivered['emma']}": "2", f"review_{delivered['emma']}": "",
        "score": "9", "comment": "Fast delivery"})
    assert response.status_code == 302

    with app.app_context():
        saved = {r.book_id: r for r in db.session.scalars(sa.select(Review))}
        assert saved[delivered["dune"]].rating == 5
        assert saved[delivered["dune"]].status is ReviewStatus.PENDING  # text: moderated
        assert saved[delivered["emma"]].status is ReviewStatus.APPROVED  # bare rating
        survey = db.session.scalar(sa.select(SurveyResponse))
        assert (survey.score, survey.comment, survey.member_id) == (9, "Fast delivery",
                                                                    delivered["member"])


def test_the_invitation_is_queued_once_per_order(app, delivered):
    with app.app_context():
        order = db.session.get(Order, delivered["order"])
        reviews.on_order_delivered(order)
        reviews.on_order_delivered(order)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id)).where(
            OutboxMail.kind == "review_invite")) == 1


def test_a_member_who_opted_out_gets_no_invitation_but_can_answer_from_the_order_page(
        app, client, auth, smtp_inbox):
    with app.app_context():
        quiet = make_member(email="quiet@example.test", mail_opt_in=False)
        book = make_book(title="Silence")
        order = deliver(make_placed_order(quiet, lines=[(book, 1)]))
        db.session.commit()
        assert deliver_due().claimed == 0
        order_id, book_id = order.id, book.id
    assert smtp_inbox.messages == []

    auth.login("quiet@example.test", DEFAULT_PASSWORD)
    detail = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert f"/feedback/order/{order_id}" in detail
    response = client.post(f"/feedback/order/{order_id}",
                           data={f"rating_{book_id}": "4", "score": ""})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Review.rating)) == 4


def test_opting_out_after_the_invitation_was_queued_cancels_it(app, smtp_inbox, delivered):
    with app.app_context():
        from app.models import Member

        db.session.get(Member, delivered["member"]).mail_opt_in = False
        db.session.commit()
        report = deliver_due()
    assert report.sent == [] and smtp_inbox.messages == []


def test_rating_a_book_again_edits_the_one_rating(app, delivered):
    with app.app_context():
        first = reviews.save_review(delivered["member"], delivered["dune"], 3, None)
        again = reviews.save_review(delivered["member"], delivered["dune"], 4, "Better on reread")
        db.session.commit()
        assert first.id == again.id
        assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 1
        assert (again.rating, again.status) == (4, ReviewStatus.PENDING)


def test_a_forged_or_foreign_link_opens_nothing(app, client, auth, delivered):
    assert client.get("/feedback/t/not-a-token").status_code == 400
    with app.app_context():
        forged = reviews.invite_token(delivered["order"], delivered["member"] + 999)
    assert client.get(f"/feedback/t/{forged}").status_code == 404
    with app.app_context():
        make_member(email="other@example.test")
        db.session.commit()
    auth.login("other@example.test", DEFAULT_PASSWORD)
    assert client.get(f"/feedback/order/{delivered['order']}").status_code == 404


def test_an_order_not_yet_delivered_cannot_be_reviewed(app, client, auth):
    with app.app_context():
        member = make_member(email="early@example.test")
        order = make_placed_order(member)
        db.session.commit()
        order_id = order.id
    auth.login("early@example.test", DEFAULT_PASSWORD)
    assert client.get(f"/feedback/order/{order_id}").status_code == 404


def test_bad_answers_are_refused_with_the_form_kept(app, client, delivered):
    with app.app_context():
        token = reviews.invite_token(delivered["order"], delivered["member"])
    response = client.post(f"/feedback/t/{token}", data={
        f"rating_{delivered['dune']}": "7", f"review_{delivered['emma']}": "No stars given",
        "score": "11"})
    assert response.status_code == 400
    assert "No stars given" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_staff_approve_a_review_and_it_shows_on_the_book_page_with_our_average(
        app, client, auth, delivered):
    with app.app_context():
        review = reviews.save_review(delivered["member"], delivered["dune"], 5, "Loved the <b>"
                                     "spice</b>")
        make_staff(email="clerk@example.test")
        db.session.commit()
        review_id = review.id
    page = client.get(f"/book/{delivered['dune']}").get_data(as_text=True)
    assert "Loved the" not in page  # pending: not shown

    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    listing = client.get("/admin/reviews").get_data(as_text=True)
    assert "spice" in listing
    response = client.post(f"/admin/reviews/{review_id}/moderate", data={"action": "approve"})
    assert response.status_code == 302

    page = client.get(f"/book/{delivered['dune']}").get_data(as_text=True)
    assert "Loved the &lt;b&gt;spice&lt;/b&gt;" in page  # escaped
    assert "Our readers: 5.0 out of 5" in page
    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(
            AuditEntry.action == "review.approve"))
        assert entry.target_id == review_id and entry.after == {"status": "approved"}


def test_a_rejected_review_stays_off_the_book_page(app, client, auth, delivered):
    with app.app_context():
        review = reviews.save_review(delivered["member"], delivered["dune"], 1, "Spam spam")
        make_staff(email="clerk@example.test")
        db.session.commit()
        review_id = review.id
    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    client.post(f"/admin/reviews/{review_id}/moderate", data={"action": "reject", "note": "advert"})
    page = client.get(f"/book/{delivered['dune']}").get_data(as_text=True)
    assert "Spam spam" not in page
    with app.app_context():
        assert db.session.get(Review, review_id).status is ReviewStatus.REJECTED
        assert db.session.scalar(sa.select(AuditEntry.action)) == "review.reject"


def test_members_cannot_moderate(app, client, auth, delivered):
    with app.app_context():
        review = reviews.save_review(delivered["member"], delivered["dune"], 5, "Mine")
        db.session.commit()
        review_id = review.id
    auth.login("rita@example.test", DEFAULT_PASSWORD)
    assert client.post(f"/admin/reviews/{review_id}/moderate",
                       data={"action": "approve"}).status_code == 403


def test_the_book_page_runs_the_same_queries_for_one_or_many_reviews(app, client):
    with app.app_context():
        book = make_book(title="Popular")
        make_book()
        members = [make_member().id for _ in range(12)]
        reviews.save_review(members[0], book.id, 4, "Good")
        db.session.execute(sa.update(Review).values(status=ReviewStatus.APPROVED))
        db.session.commit()
        book_id = book.id
    app.config["BOOK_FEEDBACK_CACHE_SECONDS"] = 0  # count the reader section's own queries
    app.config["PAGE_CACHE_SECONDS"] = 0  # ... on a rendered page, not the page cache's copy
    client.get(f"/book/{book_id}")
    with counting_statements(app) as few:
        assert client.get(f"/book/{book_id}").status_code == 200
    with app.app_context():
        for m in members[1:]:
            reviews.save_review(m, book_id, 5, "Also good")
            db.session.execute(sa.update(Review).values(status=ReviewStatus.APPROVED))
        db.session.commit()
    with counting_statements(app) as many:
        page = client.get(f"/book/{book_id}")
    assert len(few) == len(many) <= 4, many
    assert "(12 ratings)" in page.get_data(as_text=True)


def test_a_book_without_approved_reviews_reads_and_keeps_no_reader_section(app, client):
    """The book's own query says whether it has approved reviews: a book with none (or only
    one awaiting moderation) runs no review query and keeps nothing in the cache for it."""
    with app.app_context():
        book = make_book(title="Quiet")
        reviews.save_review(make_member().id, book.id, 4, "Awaiting moderation")
        db.session.commit()
        book_id = book.id
    app.config["PAGE_CACHE_SECONDS"] = 0
    client.get("/")  # warm what every page keeps (the header's categories)

    with counting_statements(app) as statements:
        page = client.get(f"/book/{book_id}").get_data(as_text=True)

    assert not [s for s in statements if s.startswith("SELECT review.rating")], statements
    assert "None of our members has rated this book yet" in page
    assert "Awaiting moderation" not in page
    with app.app_context():
        assert caching.lookup(reviews._cache_key(book_id)) is None


def test_a_review_approved_shows_on_the_next_rendering_of_the_page(app, client):
    with app.app_context():
        book = make_book(title="Soon praised")
        review = reviews.save_review(make_member(name="Ada Lovelace").id, book.id, 5,
                                     "A delight")
        db.session.commit()
        book_id, review_id = book.id, review.id
    app.config["PAGE_CACHE_SECONDS"] = 0
    assert "A delight" not in client.get(f"/book/{book_id}").get_data(as_text=True)

    with app.app_context():
        reviews.moderate(db.session.get(Review, review_id), make_staff(), approve=True)
        db.session.commit()
    page = client.get(f"/book/{book_id}").get_data(as_text=True)

    assert "A delight" in page and "Ada" in page
