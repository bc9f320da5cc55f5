"""Copies held for a reader go into their cart through the cart service, by its rules."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.demand.rules import DemandClosed
from app.demand.stock import receive_stock
from app.models import Hold, HoldStatus
from app.ordering import cart
from app.ordering.held import put_held_in_cart
from tests.factories import make_book, make_demand, make_member


def held_copies(member, quantity: int = 2) -> Hold:
    book = make_book(stock_on_hand=0)
    make_demand(member, book, quantity=quantity)
    db.session.commit()
    receive_stock(book.id, quantity)
    db.session.commit()
    return db.session.scalar(sa.select(Hold).where(Hold.book_id == book.id))


def test_held_copies_go_into_the_cart_although_none_are_on_the_shelf(ctx):
    member = make_member()
    hold = held_copies(member, 2)

    put_held_in_cart(member, hold.id)

    assert cart.raw_lines(member, {}) == {hold.book_id: 2}


def test_putting_held_copies_in_twice_leaves_one_line_of_what_is_held(ctx):
    member = make_member()
    hold = held_copies(member, 2)

    put_held_in_cart(member, hold.id)
    put_held_in_cart(member, hold.id)

    assert cart.raw_lines(member, {}) == {hold.book_id: 2}


def test_a_line_already_larger_than_the_hold_is_kept(ctx):
    member = make_member()
    hold = held_copies(member, 2)
    db.session.get(type(hold.book), hold.book_id).stock_on_hand = 5
    cart.add(member, {}, hold.book_id, 4)

    put_held_in_cart(member, hold.id)

    assert cart.raw_lines(member, {}) == {hold.book_id: 4}


def test_only_the_holder_can_put_held_copies_in_a_cart(ctx):
    hold = held_copies(make_member())

    with pytest.raises(NotFound):
        put_held_in_cart(make_member(), hold.id)


def test_an_ended_hold_puts_nothing_in_the_cart(ctx):
    member = make_member()
    hold = held_copies(member)
    hold.status = HoldStatus.EXPIRED
    db.session.flush()

    with pytest.raises(DemandClosed):
        put_held_in_cart(member, hold.id)
    assert cart.raw_lines(member, {}) == {}


def test_a_full_cart_takes_no_held_copies_like_any_other_book(ctx):
    """The cart's limit of distinct books holds for held copies too (they used to be written
    past it, outside the cart service)."""
    member = make_member()
    hold = held_copies(member)
    for _ in range(cart.MAX_CART_LINES):
        cart.add(member, {}, make_book(stock_on_hand=1).id, 1)

    with pytest.raises(InvalidInput):
        put_held_in_cart(member, hold.id)
    assert hold.book_id not in cart.raw_lines(member, {})
    assert len(cart.raw_lines(member, {})) == cart.MAX_CART_LINES
