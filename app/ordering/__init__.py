"""Ordering: the cart, pricing, checkout (never overselling, idempotent), payment methods,
order status changes and the one definition of paid orders and revenue."""

from __future__ import annotations

from collections.abc import MutableMapping

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered), the cart badge's count
    read with the member at log-in, and the header's cart badge on every page (served by
    app.serving, which knows no cart)."""
    from app.membership import login
    from app.membership.models import Member
    from app.ordering import cart
    from app.ordering.cart import count_column
    from app.ordering.models import Order
    from app.ordering.web import (
        admin_orders,  # noqa: F401  (admin routes)
        bp,
    )
    from app.serving import page_store

    app.register_blueprint(bp)
    app.add_template_filter(Order.number_for, "order_number")
    login.load_with_member(app, Member.loaded_cart_count, count_column(Member.id))

    def cart_badge_count(member, session: MutableMapping) -> int:
        """Copies in the reader's cart: a member's as read with the member at the start of a
        GET (no query), else one SUM query; a visitor's from the session alone."""
        if member is not None:
            loaded = member.loaded_cart_count  # read with the member on a GET, else None
            if loaded is not None:
                return loaded
        return cart.count(member, session)

    page_store.set_cart_count(app, cart_badge_count)
