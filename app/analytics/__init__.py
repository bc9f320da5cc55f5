"""Analytics: what staff learn about members: classification (rfm, segments, markov), lifetime
value (clv, snapshots), associations and recommendations, the reorder forecast and
satisfaction."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered); the book page's question
    whether the association snapshot has rules from a book."""
    from app.analytics import associations
    from app.analytics.web import admin_analytics, admin_satisfaction  # noqa: F401  (admin routes)
    from app.catalog.browse import show_with_book

    show_with_book(app, associations.HAS_ALSO_BOUGHT, associations.has_also_bought_expression())
