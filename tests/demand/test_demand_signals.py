"""The demand feature hears the features below it through signals, connected by its init_app."""

from __future__ import annotations

import pytest

from app import create_app
from app.core.db import utcnow
from app.core.extensions import db
from app.core.signals import book_saved, member_joined
from app.demand import uncatalogued, visitors
from config import TestConfig
from tests.factories import make_book, make_demand, make_member

ISBN13 = "9780306406157"


@pytest.mark.parametrize(("signal", "receiver"), [
    (member_joined, visitors.on_member_joined),
    (book_saved, uncatalogued.on_book_saved),
])
def test_every_app_built_by_create_app_leaves_each_receiver_connected_once(app, signal,
                                                                           receiver):
    class _Again(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]

    create_app(_Again)  # another app in this process (the suite builds hundreds)

    assert list(signal.receivers_for(object())).count(receiver) == 1


def test_a_member_joined_signal_brings_the_visitors_confirmed_demand_into_the_account(ctx):
    visitor = make_demand(None, email="reader@example.test", confirmed_at=utcnow())
    member = make_member(email="reader@example.test", email_verified_at=utcnow())

    member_joined.send(member)

    assert visitor.member_id == member.id
    assert visitor.open_key == f"{member.id}:{visitor.book_id}"


def test_a_book_saved_signal_turns_requests_for_its_isbn_into_demand_for_it(ctx):
    request = uncatalogued.request_uncatalogued(make_member(), "The Lost Book", None, ISBN13)
    book = make_book(isbn13=ISBN13, stock_on_hand=0)  # the factory sends nothing
    db.session.flush()
    assert request.book_id is None

    book_saved.send(book)

    assert request.book_id == book.id
