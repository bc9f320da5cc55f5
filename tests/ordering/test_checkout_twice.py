"""Checking out twice (a double click, a retried request, a second window) places one order.

The checkout form carries a one-time key (`checkout_key`); the order keeps it under a unique
index, and the checkout takes the cart's lines in the statement that empties them, so a second
checkout of the same cart waits for the first and then finds the cart empty. Every repeated
submission leads to the order already placed: one order, one stock decrement, one mail.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book, Member, Order, OutboxMail
from app.ordering import cart
from tests.factories import make_book, make_member
from tests.helpers import run_at_once
from tests.pages import logged_in_client

CHECKOUT = {
    "name": "Ada Reader", "line1": "1 Library Lane", "city": "Shanghai", "postcode": "200000",
    "country": "China", "payment_method": "cod",
}
# The first checkout keeps its transaction open this long, so the others really arrive while
# it is placing the order instead of simply running after it.
HOLD_SECONDS = 0.3


def checkout_key_of(page: str) -> str:
    found = re.search(r'name="checkout_key"[^>]*value="([^"]+)"', page)
    assert found, "the checkout form carries no checkout key"
    return found.group(1)


@contextmanager
def orders_held_open(seconds: float = HOLD_SECONDS) -> Iterator[None]:
    """A transaction that placed an order waits `seconds` before its commit."""
    def hold(session):
        if any(isinstance(obj, Order) for obj in session.identity_map.values()):
            time.sleep(seconds)

    sa.event.listen(db.session, "before_commit", hold)
    try:
        yield
    finally:
        sa.event.remove(db.session, "before_commit", hold)


def post_at_once(clients: list, forms: list[dict]) -> list:
    """Each client POSTs its form to /checkout at the same moment; returns the responses."""
    responses: list = [None] * len(clients)

    def submit(meet, i: int) -> None:
        meet()
        responses[i] = clients[i].post("/checkout", data=forms[i])

    with orders_held_open():
        errors = run_at_once(submit, [(i,) for i in range(len(clients))])
    assert not errors, errors
    return responses


def shop_state(app, book_id: int) -> tuple[list[int], int, int, int]:
    """(order ids, stock on hand, copies sold, order confirmation mails queued)."""
    with app.app_context():
        order_ids = db.session.scalars(sa.select(Order.id).order_by(Order.id)).all()
        book = db.session.get(Book, book_id)
        mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                                  .where(OutboxMail.kind == "order_confirmation"))
        return list(order_ids), book.stock_on_hand, book.sold_count, mails


def one_copy_in_a_cart(app) -> tuple[int, str]:
    with app.app_context():
        book = make_book(title="Dune", price=Decimal("42.00"), stock_on_hand=5)
        member = make_member(name="Ada Reader")
        cart.add(member, {}, book.id, 1)
        db.session.commit()
        return book.id, member.email


FormsFor = Callable[[list], list[dict]]


def same_key(clients: list) -> list[dict]:
    """A double click or a retried request: the same form, key and all, sent again."""
    key = checkout_key_of(clients[0].get("/checkout").get_data(as_text=True))
    return [dict(CHECKOUT, checkout_key=key) for _ in clients]


def own_keys(clients: list) -> list[dict]:
    """The checkout page open in several windows, each with its own key."""
    return [dict(CHECKOUT, checkout_key=checkout_key_of(c.get("/checkout").get_data(as_text=True)))
            for c in clients]


def no_key(clients: list) -> list[dict]:
    """A client that sends no key at all (a page from before the key, a script)."""
    return [dict(CHECKOUT) for _ in clients]


def three_checkouts_at_once(app, forms_for: FormsFor) -> tuple[int, list, tuple]:
    book_id, email = one_copy_in_a_cart(app)
    clients = [logged_in_client(app, email) for _ in range(3)]

    responses = post_at_once(clients, forms_for(clients))

    return book_id, responses, shop_state(app, book_id)


@pytest.mark.parametrize("forms_for", [same_key, own_keys, no_key])
def test_three_checkouts_of_one_cart_at_the_same_moment_place_one_order(app, forms_for):
    book_id, responses, (order_ids, stock, sold, mails) = three_checkouts_at_once(app, forms_for)

    assert len(order_ids) == 1
    assert (stock, sold, mails) == (4, 1, 1)
    assert [r.status_code for r in responses] == [302, 302, 302]
    if forms_for is same_key:  # every click leads to the one order
        assert {r.location for r in responses} == {f"/orders/{order_ids[0]}"}


def test_a_double_submitted_form_leads_both_times_to_the_same_order(app):
    book_id, email = one_copy_in_a_cart(app)
    client = logged_in_client(app, email)
    form = dict(CHECKOUT, checkout_key=checkout_key_of(client.get("/checkout").get_data(
        as_text=True)))

    first = client.post("/checkout", data=form)
    again = client.post("/checkout", data=form)

    [order_id] = shop_state(app, book_id)[0]
    assert first.status_code == again.status_code == 302
    assert first.location == again.location == f"/orders/{order_id}"
    page = client.get(again.location).get_data(as_text=True)
    assert "is placed already" in page and "nothing was ordered twice" in page
    assert shop_state(app, book_id)[1:] == (4, 1, 1)


def test_the_same_form_sent_again_after_more_books_went_in_the_cart_orders_nothing_new(app):
    """A retried request arriving after the shopper filled the cart again: the key was used,
    so it leads to its order, and the new cart stays as it is, its stock untouched."""
    book_id, email = one_copy_in_a_cart(app)
    client = logged_in_client(app, email)
    form = dict(CHECKOUT, checkout_key=checkout_key_of(client.get("/checkout").get_data(
        as_text=True)))
    first = client.post("/checkout", data=form)
    with app.app_context():
        emma = make_book(title="Emma", stock_on_hand=3)
        db.session.commit()
        emma_id = emma.id
    client.post("/cart/add", data={"book_id": emma_id, "quantity": 2})

    again = client.post("/checkout", data=form)

    assert again.status_code == 302 and again.location == first.location
    assert len(shop_state(app, book_id)[0]) == 1
    with app.app_context():
        assert db.session.get(Book, emma_id).stock_on_hand == 3
        member = db.session.scalar(sa.select(Member).where(Member.email == email))
        assert cart.raw_lines(member, {}) == {emma_id: 2}


def test_a_second_window_on_the_emptied_cart_is_told_nothing_more_was_ordered(app):
    book_id, email = one_copy_in_a_cart(app)
    client = logged_in_client(app, email)
    first_window, second_window = (
        dict(CHECKOUT, checkout_key=checkout_key_of(client.get("/checkout").get_data(
            as_text=True))) for _ in range(2))
    assert first_window["checkout_key"] != second_window["checkout_key"]
    client.post("/checkout", data=first_window)

    response = client.post("/checkout", data=second_window, follow_redirects=True)

    assert response.status_code == 200 and response.request.path == "/orders"
    page = response.get_data(as_text=True)
    assert "nothing more was ordered" in page
    [order_id] = shop_state(app, book_id)[0]
    assert f"BS-{order_id:07d}" in page


def test_a_form_without_a_key_still_places_the_order(app):
    book_id, email = one_copy_in_a_cart(app)
    client = logged_in_client(app, email)

    response = client.post("/checkout", data=CHECKOUT)

    [order_id] = shop_state(app, book_id)[0]
    assert response.status_code == 302 and response.location == f"/orders/{order_id}"


def test_a_form_sent_back_with_errors_keeps_its_key(app):
    book_id, email = one_copy_in_a_cart(app)
    client = logged_in_client(app, email)
    key = checkout_key_of(client.get("/checkout").get_data(as_text=True))

    page = client.post("/checkout", data=dict(CHECKOUT, city="", checkout_key=key))

    assert page.status_code == 400 and checkout_key_of(page.get_data(as_text=True)) == key


@pytest.mark.parametrize("bad_key", ["short", "x" * 65, "<script>alert(1)</script>xxxxxxxx",
                                     "key with spaces in it!"])
def test_a_tampered_key_is_refused_with_a_message_and_a_new_key(app, bad_key):
    book_id, email = one_copy_in_a_cart(app)
    client = logged_in_client(app, email)

    response = client.post("/checkout", data=dict(CHECKOUT, checkout_key=bad_key))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This checkout form has expired" in page
    assert checkout_key_of(page) != bad_key and "<script>alert" not in page
    assert shop_state(app, book_id)[:3] == ([], 5, 0)


def test_every_checkout_page_carries_a_new_key(app):
    _, email = one_copy_in_a_cart(app)
    client = logged_in_client(app, email)

    keys = {checkout_key_of(client.get("/checkout").get_data(as_text=True)) for _ in range(3)}

    assert len(keys) == 3
