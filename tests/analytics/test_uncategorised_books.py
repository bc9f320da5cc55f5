"""Books without a category (the admin form's default) among a member's purchases and wishes:
recommendations, the account page, the campaign page and the campaign pass of the mail sender
all work (issue 17, item 7: a None compared with a category id raised on every visit)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.analytics import recommendations
from app.campaigns import services as campaigns
from app.core.extensions import db
from app.mail.sender import deliver_due
from app.models import Campaign, OutboxMail
from tests.factories import (
    DEFAULT_PASSWORD,
    make_admin,
    make_book,
    make_category,
    make_demand,
    make_member,
    make_placed_order,
)


@pytest.fixture
def shop(app) -> dict:
    """A reader who bought an uncategorised and a categorised book and waits for a book of
    another category: a tie in the count of their categories, None among them."""
    with app.app_context():
        poetry = make_category(name="Poetry")
        loose = make_book(title="Loose leaves", category=None, sold_count=4)
        sorted_book = make_book(title="Sorted verses", category=poetry, sold_count=3)
        essays = make_category(name="Essays")
        wanted = make_book(title="Wanted essays", category=essays, stock_on_hand=0)
        make_book(title="Uncategorised hit", category=None, sold_count=50)
        make_book(title="Poetry hit", category=poetry, sold_count=40)
        reader = make_member(email="reader@example.test", name="Uma Reader")
        make_placed_order(reader, lines=[(loose, 1), (sorted_book, 1)])
        make_demand(member=reader, book=wanted)
        make_admin(email="boss@example.test")
        db.session.commit()
        return {"reader": reader.id}


def test_recommendations_for_a_reader_of_uncategorised_books(app, shop):
    with app.app_context():
        books = recommendations.for_member(shop["reader"])
        single, single_ids = [b.title for b in books], [b.id for b in books]
        batch = recommendations.for_members([shop["reader"]])[shop["reader"]]

    assert single == ["Poetry hit"]  # the best seller of a favourite category, not the seeds
    assert batch[0] == single_ids[0]


def test_the_account_page_of_a_reader_of_uncategorised_books(client, auth, shop):
    auth.login("reader@example.test", DEFAULT_PASSWORD)

    response = client.get("/account/")

    assert response.status_code == 200
    assert "Poetry hit" in response.get_data(as_text=True)


def test_a_campaign_to_readers_of_uncategorised_books_is_shown_sent_and_mailed(
        app, client, auth, shop, smtp_inbox):
    auth.login("boss@example.test", DEFAULT_PASSWORD)
    created = client.post("/admin/campaigns/new", data={
        "name": "Loose", "audience": "tier:regular", "subject": "For you, {name}",
        "message": "Hello {name}!", "holdout": "0"})
    assert created.status_code == 302

    draft = client.get(created.headers["Location"])
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id))
    sent = client.post(f"/admin/campaigns/{campaign_id}/send")
    page = client.get(created.headers["Location"])

    assert draft.status_code == 200 and "Hello Uma Reader!" in draft.get_data(as_text=True)
    assert sent.status_code == 302 and page.status_code == 200
    with app.app_context():
        queued = campaigns.enqueue_pending()  # the mail sender's campaign pass
        db.session.commit()
        assert queued == 1
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))
                                 .where(OutboxMail.kind == "campaign")) == 1
        deliver_due()
    [message] = smtp_inbox.parsed()
    assert "Poetry hit" in message.get_body(("plain",)).get_content()
