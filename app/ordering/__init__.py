"""Ordering: the cart, pricing, checkout (never overselling, idempotent), payment methods,
order status changes and the one definition of paid orders and revenue."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered), and the cart badge's
    count read with the member at log-in."""
    from app.membership import login
    from app.membership.models import Member
    from app.ordering.cart import count_column
    from app.ordering.web import (
        admin_orders,  # noqa: F401  (admin routes)
        bp,
    )

    app.register_blueprint(bp)
    login.load_with_member(app, Member.loaded_cart_count, count_column(Member.id))
