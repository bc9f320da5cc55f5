"""Ordering: the cart, pricing, checkout (never overselling, idempotent), payment methods,
order status changes and the one definition of paid orders and revenue."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.ordering.web import (
        admin_orders,  # noqa: F401  (admin routes)
        bp,
    )

    app.register_blueprint(bp)
