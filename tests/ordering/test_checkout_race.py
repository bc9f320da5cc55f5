"""Real concurrent checkouts on PostgreSQL: the last copy is sold once, and nothing deadlocks."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.mail.models import OutboxMail
from app.models import Book, Member, Order
from app.ordering import cart
from app.ordering.checkout import OutOfStock, ShippingAddress, place_order
from tests.factories import make_book, make_member
from tests.helpers import run_at_once
from tests.ordering.test_checkout_twice import (
    no_key,
    one_copy_in_a_cart,
    own_keys,
    post_at_once,
    same_key,
    shop_state,
    three_checkouts_at_once,
)
from tests.pages import logged_in_client

ADDRESS = ShippingAddress(name="Racer", line1="1 Fast Lane", city="Shanghai", postcode="200000",
                          country="China")
# Each winner keeps its transaction open this long, so the other checkout really has to wait
# on the row lock instead of simply running after it.
HOLD_SECONDS = 0.3


def shoppers_of_one_book(title: str, stock: int, shoppers: int) -> tuple[int, list[int]]:
    """A book with `stock` copies and that many members with one copy of it in their cart
    (committed): the book's id and the members' ids."""
    book = make_book(title=title, stock_on_hand=stock)
    members = [make_member() for _ in range(shoppers)]
    for member in members:
        cart.add(member, {}, book.id, 1)
    db.session.commit()
    return book.id, [m.id for m in members]


def rows_of(model) -> int:
    """How many rows `model`'s table holds (in an app context)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def race(app, member_ids: list[int]) -> tuple[dict[int, str], list[BaseException]]:
    """Every member checks out their cart at the same moment; returns who won or ran out."""
    outcome: dict[int, str] = {}

    def shopper(meet, member_id: int) -> None:
        with app.app_context():
            member = db.session.get(Member, member_id)
            meet()
            try:
                place_order(member, address=ADDRESS, payment_method="cod")
                time.sleep(HOLD_SECONDS)
                db.session.commit()
                outcome[member_id] = "ordered"
            except OutOfStock as exc:
                db.session.rollback()
                outcome[member_id] = exc.message
            finally:
                db.session.remove()

    errors = run_at_once(shopper, [(m,) for m in member_ids])
    return outcome, errors


def test_two_shoppers_racing_for_the_last_copy_exactly_one_wins(pg_app):
    with pg_app.app_context():
        book_id, ids = shoppers_of_one_book("The Last Copy", stock=1, shoppers=2)

    outcome, errors = race(pg_app, ids)

    assert not errors
    assert list(outcome.values()).count("ordered") == 1
    [loser_message] = [m for m in outcome.values() if m != "ordered"]
    assert "“The Last Copy” has just sold out" in loser_message
    with pg_app.app_context():
        assert rows_of(Order) == 1
        book = db.session.get(Book, book_id)
        assert (book.stock_on_hand, book.sold_count) == (0, 1)
        [loser] = [m for m in ids if outcome[m] != "ordered"]
        assert cart.raw_lines(db.session.get(Member, loser), {}) == {book_id: 1}


def test_two_carts_holding_the_same_books_in_opposite_order_do_not_deadlock(pg_app):
    with pg_app.app_context():
        a = make_book(title="A", stock_on_hand=10)
        b = make_book(title="B", stock_on_hand=10)
        first, second = make_member(), make_member()
        cart.add(first, {}, b.id, 2)  # B then A ...
        cart.add(first, {}, a.id, 2)
        cart.add(second, {}, a.id, 2)  # ... and A then B: locking in cart order would deadlock
        cart.add(second, {}, b.id, 2)
        db.session.commit()
        book_ids, ids = (a.id, b.id), [first.id, second.id]

    outcome, errors = race(pg_app, ids)

    assert not errors, errors
    assert list(outcome.values()) == ["ordered", "ordered"]
    with pg_app.app_context():
        stocks = db.session.scalars(
            sa.select(Book.stock_on_hand).where(Book.id.in_(book_ids)).order_by(Book.id)
        ).all()
        assert stocks == [6, 6]
        assert rows_of(Order) == 2


def test_many_shoppers_racing_for_three_copies_never_oversell(pg_app):
    with pg_app.app_context():
        book_id, ids = shoppers_of_one_book("Three Left", stock=3, shoppers=6)

    outcome, errors = race(pg_app, ids)

    assert not errors
    assert list(outcome.values()).count("ordered") == 3
    with pg_app.app_context():
        assert db.session.get(Book, book_id).stock_on_hand == 0
        assert rows_of(Order) == 3


def test_adding_a_book_while_another_window_checks_out_the_cart_asks_to_try_again(pg_app):
    """The add read the cart line, then the other window's checkout deleted it before the add
    wrote: the shopper is told to try again (no error page), and trying again works."""
    from app.models import CartLine

    with pg_app.app_context():
        book = make_book(title="Two Windows", stock_on_hand=10)
        member = make_member()
        cart.add(member, {}, book.id, 1)
        db.session.commit()
        book_id, email = book.id, member.email
    client = logged_in_client(pg_app, email)

    def other_window_checks_out(session, flush_context, instances):
        with db.engine.begin() as other:
            other.execute(sa.delete(CartLine))

    sa.event.listen(db.session, "before_flush", other_window_checks_out, once=True)
    try:
        response = client.post("/cart/add", data={"book_id": book_id, "quantity": 1},
                               follow_redirects=True)
    finally:
        if sa.event.contains(db.session, "before_flush", other_window_checks_out):
            sa.event.remove(db.session, "before_flush", other_window_checks_out)

    assert response.status_code == 200
    assert "Your cart changed in another window" in response.get_data(as_text=True)
    again = client.post("/cart/add", data={"book_id": book_id, "quantity": 1})
    assert again.status_code == 302
    with pg_app.app_context():
        assert cart.raw_lines(db.session.get(Member, member.id), {}) == {book_id: 1}


@pytest.mark.parametrize("forms_for", [same_key, own_keys, no_key])
def test_three_checkouts_of_one_cart_at_the_same_moment_place_one_order(pg_app, forms_for):
    """A double click, a retried request or two windows: identical POSTs /checkout through
    separate clients at once; the cart's lines are taken once, whatever the key."""
    book_id, responses, (order_ids, stock, sold, mails) = three_checkouts_at_once(pg_app,
                                                                                   forms_for)

    assert len(order_ids) == 1
    assert (stock, sold, mails) == (4, 1, 1)
    assert [r.status_code for r in responses] == [302, 302, 302]
    if forms_for is same_key:
        assert {r.location for r in responses} == {f"/orders/{order_ids[0]}"}


def test_one_checkout_form_submitted_three_times_at_once_after_a_refill_places_one_order(pg_app):
    """The cart is not empty for the late submissions (a book went in meanwhile): the key's
    unique index still lets exactly one order through, and the new book stays in the cart."""
    book_id, email = one_copy_in_a_cart(pg_app)
    clients = [logged_in_client(pg_app, email) for _ in range(3)]
    forms = same_key(clients)
    first = clients[0].post("/checkout", data=forms[0])
    with pg_app.app_context():
        emma = make_book(title="Emma", stock_on_hand=3)
        db.session.commit()
        emma_id = emma.id
    clients[0].post("/cart/add", data={"book_id": emma_id, "quantity": 1})

    responses = post_at_once(clients, forms)

    assert {r.location for r in responses} == {first.location}
    assert len(shop_state(pg_app, book_id)[0]) == 1
    with pg_app.app_context():
        assert db.session.get(Book, emma_id).stock_on_hand == 3
        member = db.session.scalar(sa.select(Member).where(Member.email == email))
        assert cart.raw_lines(member, {}) == {emma_id: 1}


def test_a_buyer_of_the_same_book_is_not_held_up_by_another_checkouts_mail(pg_app, monkeypatch):
    # The book's row lock, which every buyer of the book waits for, is taken at the end of a
    # checkout: while one checkout is still writing its order and rendering its mail, another
    # buyer of the same book orders and commits. (Before, the first checkout held the book
    # from the start, and the second waited for its commit.)
    from app.ordering import checkout

    with pg_app.app_context():
        book_id, (slow_id, quick_id) = shoppers_of_one_book("The Best Seller", stock=5,
                                                            shoppers=2)

    slow_writing_mail = threading.Event()
    quick_committed = threading.Event()
    finished: list[str] = []
    queue_confirmation = checkout.queue_confirmation

    def queue_confirmation_slowly(order):
        if order.member_id == slow_id:
            slow_writing_mail.set()
            quick_committed.wait(timeout=5)  # gives up after 5 s: the old order then shows
        queue_confirmation(order)

    monkeypatch.setattr(checkout, "queue_confirmation", queue_confirmation_slowly)

    def shopper(meet, member_id: int) -> None:
        with pg_app.app_context():
            member = db.session.get(Member, member_id)
            meet()
            if member_id == quick_id:
                assert slow_writing_mail.wait(timeout=10)
            try:
                place_order(member, address=ADDRESS, payment_method="cod")
                db.session.commit()
                finished.append("slow" if member_id == slow_id else "quick")
                if member_id == quick_id:
                    quick_committed.set()
            finally:
                db.session.remove()

    errors = run_at_once(shopper, [(slow_id,), (quick_id,)])

    assert not errors
    assert finished == ["quick", "slow"]
    with pg_app.app_context():
        assert rows_of(Order) == 2
        assert db.session.get(Book, book_id).stock_on_hand == 3
        assert rows_of(OutboxMail) == 2


def test_a_checkout_that_loses_the_last_copy_leaves_no_order_and_no_mail(pg_app):
    with pg_app.app_context():
        _book_id, ids = shoppers_of_one_book("The Very Last Copy", stock=1, shoppers=3)

    outcome, errors = race(pg_app, ids)

    assert not errors
    assert list(outcome.values()).count("ordered") == 1
    with pg_app.app_context():
        [order] = db.session.scalars(sa.select(Order)).all()
        mails = db.session.scalars(sa.select(OutboxMail)).all()
        assert [m.dedupe_key for m in mails] == [f"order_confirmation:{order.id}"]
