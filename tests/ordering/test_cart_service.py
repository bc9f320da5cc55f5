"""The cart service: one set of rules for the session cart and the member's saved cart."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.models import CartLine
from app.ordering import cart
from tests.factories import make_book, make_member


@pytest.fixture(params=["visitor", "member"])
def shopper(request, ctx):
    """Each rule is checked for a visitor (session cart) and for a member (saved cart)."""
    member = make_member() if request.param == "member" else None
    return member, {}


def test_adding_a_book_twice_adds_up_the_quantities(shopper):
    member, session = shopper
    book = make_book()

    cart.add(member, session, book.id, 1)
    cart.add(member, session, book.id, 2)

    assert cart.raw_lines(member, session) == {book.id: 3}
    assert cart.count(member, session) == 3


def test_adding_says_the_lines_quantity_now_and_the_books_title(shopper):
    member, session = shopper
    book = make_book(title="Dune")

    assert cart.add(member, session, book.id, 1) == cart.Added(quantity=1, title="Dune")
    assert cart.add(member, session, book.id, 2) == cart.Added(quantity=3, title="Dune")


def test_the_visitor_cart_lives_in_the_session_as_string_keys(ctx):
    book = make_book()
    session: dict = {}

    cart.add(None, session, book.id, 2)

    assert session == {cart.SESSION_KEY: {str(book.id): 2}}


def test_the_member_cart_is_saved_in_the_database(ctx):
    member, book = make_member(), make_book()

    cart.add(member, {}, book.id, 2)
    db.session.commit()

    assert db.session.scalars(sa.select(CartLine.quantity)).all() == [2]


@pytest.mark.parametrize("quantity", [0, -1, 100, 10**12, True, "2"])
def test_a_quantity_outside_one_to_ninety_nine_is_refused(shopper, quantity):
    member, session = shopper
    book = make_book(stock_on_hand=500)

    with pytest.raises(InvalidInput):
        cart.add(member, session, book.id, quantity)

    assert cart.raw_lines(member, session) == {}


def test_a_line_never_grows_beyond_ninety_nine_copies(shopper):
    member, session = shopper
    book = make_book(stock_on_hand=500)
    cart.add(member, session, book.id, 60)

    with pytest.raises(InvalidInput, match="at most 99"):
        cart.add(member, session, book.id, 40)

    assert cart.raw_lines(member, session) == {book.id: 60}


@pytest.mark.parametrize("book_id", [0, -3, 10**9, "7", None])
def test_an_unknown_book_is_not_found(shopper, book_id):
    member, session = shopper

    with pytest.raises(NotFound):
        cart.add(member, session, book_id, 1)


def test_a_withdrawn_book_cannot_be_added(shopper):
    member, session = shopper
    book = make_book(is_active=False)

    with pytest.raises(NotFound):
        cart.add(member, session, book.id, 1)


def test_adding_more_copies_than_in_stock_is_refused_with_the_number_left(shopper):
    member, session = shopper
    book = make_book(title="Dune", stock_on_hand=2)
    cart.add(member, session, book.id, 2)

    with pytest.raises(InvalidInput, match="only 2 copies of “Dune”"):
        cart.add(member, session, book.id, 1)

    assert cart.raw_lines(member, session) == {book.id: 2}


def test_a_sold_out_book_cannot_be_added(shopper):
    member, session = shopper
    book = make_book(title="Emma", stock_on_hand=0)

    with pytest.raises(InvalidInput, match="sold out"):
        cart.add(member, session, book.id, 1)


def test_setting_a_quantity_changes_it_and_zero_removes_the_line(shopper):
    member, session = shopper
    a, b = make_book(), make_book()
    cart.add(member, session, a.id, 1)
    cart.add(member, session, b.id, 1)

    cart.set_quantity(member, session, a.id, 4)
    cart.set_quantity(member, session, b.id, 0)

    assert cart.raw_lines(member, session) == {a.id: 4}


def test_lowering_a_quantity_is_allowed_even_when_stock_fell_meanwhile(shopper):
    member, session = shopper
    book = make_book(stock_on_hand=5)
    cart.add(member, session, book.id, 5)
    book.stock_on_hand = 1
    db.session.flush()

    cart.set_quantity(member, session, book.id, 3)

    assert cart.raw_lines(member, session) == {book.id: 3}
    with pytest.raises(InvalidInput):
        cart.set_quantity(member, session, book.id, 4)


def test_setting_the_quantity_of_a_book_not_in_the_cart_is_not_found(shopper):
    member, session = shopper
    book = make_book()

    with pytest.raises(NotFound):
        cart.set_quantity(member, session, book.id, 2)


def test_removing_a_book_takes_it_out_and_removing_it_again_does_nothing(shopper):
    member, session = shopper
    book = make_book()
    cart.add(member, session, book.id, 2)

    cart.remove(member, session, book.id)
    cart.remove(member, session, book.id)

    assert cart.raw_lines(member, session) == {}
    assert cart.count(member, session) == 0


def test_the_cart_view_prices_every_line_from_the_database(shopper):
    member, session = shopper
    a = make_book(title="Dune", price=Decimal("42.00"))
    b = make_book(title="Emma", price=Decimal("19.90"))
    cart.add(member, session, a.id, 1)
    cart.add(member, session, b.id, 2)

    view = cart.lines(member, session)

    assert [(i.book.title, i.quantity, i.line_total) for i in view.items] == [
        ("Dune", 1, Decimal("42.00")), ("Emma", 2, Decimal("39.80"))]
    assert view.quote.subtotal == Decimal("81.80")
    assert view.quote.shipping == Decimal("10.00")
    assert view.quote.total == Decimal("91.80")
    assert not view.has_problems


def test_the_cart_view_loads_all_its_books_in_one_query(ctx):
    from sqlalchemy import event

    session = {}
    for _ in range(5):
        cart.add(None, session, make_book().id, 1)
    db.session.expire_all()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        view = cart.lines(None, session)
        titles = [item.book.title for item in view.items]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert len(titles) == 5
    assert len(statements) == 1


def test_the_cart_view_flags_a_line_whose_stock_fell_after_it_was_added(shopper):
    member, session = shopper
    book = make_book(stock_on_hand=3)
    cart.add(member, session, book.id, 3)
    book.stock_on_hand = 1
    db.session.flush()

    view = cart.lines(member, session)

    assert view.has_problems
    assert "Only 1 copy left" in view.items[0].problem


def test_the_cart_view_applies_a_discount_rate_when_given_one(ctx):
    member = make_member()
    book = make_book(price=Decimal("26.70"))
    cart.add(member, {}, book.id, 3)

    view = cart.lines(member, {}, discount_rate=Decimal("0.05"))

    assert view.quote.discount == Decimal("4.01")
    assert view.quote.total == Decimal("86.09")


def test_a_tampered_session_cart_is_read_without_errors(ctx):
    book = make_book()
    session = {cart.SESSION_KEY: {"abc": 1, str(book.id): "2", "5": -3, "6": None}}

    assert cart.raw_lines(None, session) == {book.id: 2}
    assert cart.count(None, session) == 2


# --------------------------------------------------------------------------- merge at login


def test_merging_adds_up_quantities_caps_at_99_and_drops_unknown_books(ctx):
    member = make_member()
    kept, capped, fresh, withdrawn = make_book(), make_book(), make_book(), make_book()
    cart.add(member, {}, kept.id, 1)
    cart.add(member, {}, capped.id, 4)
    withdrawn.is_active = False
    db.session.flush()

    cart.merge_session_cart(member, {
        str(kept.id): 2, str(capped.id): 98, str(fresh.id): 1, str(withdrawn.id): 1,
        "999999": 3, "junk": 1,
    })
    db.session.commit()

    assert cart.raw_lines(member, {}) == {kept.id: 3, capped.id: 99, fresh.id: 1}


def test_merging_an_empty_session_cart_changes_nothing(ctx):
    member = make_member()
    book = make_book()
    cart.add(member, {}, book.id, 2)

    cart.merge_session_cart(member, {})

    assert cart.raw_lines(member, {}) == {book.id: 2}


def test_clearing_a_cart_lets_go_of_its_lines_loaded_in_the_session(ctx):
    member = make_member()
    book = make_book(stock_on_hand=5)
    cart.add(member, {}, book.id, 2)
    pending = make_book(stock_on_hand=5)
    cart.add(member, {}, pending.id, 1)  # not yet flushed when the cart is cleared
    loaded = db.session.scalars(sa.select(CartLine).where(CartLine.book_id == book.id)).one()

    cart.clear(member, {})

    assert loaded not in db.session
    assert cart.raw_lines(member, {}) == {}
    assert cart.add(member, {}, book.id, 1).quantity == 1  # a new line, not the old one's 2 + 1
    assert cart.raw_lines(member, {}) == {book.id: 1}
