"""Copies held for a member after a stock arrival, into their cart.

The hold's rules are the demand feature's (app.demand.holds: whose it is, whether it still
runs); the cart line is written by the cart service (`cart.add_held`), the one writer of cart
lines. Checkout then takes the copies from the hold (app.demand.holds.take_held).
"""

from __future__ import annotations

from app.demand.holds import usable_hold
from app.demand.models import Hold
from app.membership.models import Member
from app.ordering import cart


def put_held_in_cart(member: Member, hold_id: int) -> Hold:
    """Put the copies held for the member under `hold_id` into their cart (at least as many
    as the hold has left). Raises NotFound (not their hold), DemandClosed (the hold ended) or
    InvalidInput (the cart is full). Flushes, never commits."""
    hold = usable_hold(member, hold_id)
    cart.add_held(member, hold.book_id, hold.remaining)
    return hold
