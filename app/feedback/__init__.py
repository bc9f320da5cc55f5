"""Feedback: ratings and reviews of delivered books, their moderation, and the satisfaction
survey after an order."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered); the invitation when an
    order is delivered (a receiver of `order_status_changed`) and the invitation's send-time
    check; the book page's question whether a book has approved reviews. Idempotent: an app
    built again in the same process adds nothing twice."""
    from app.catalog.browse import show_with_book
    from app.core.signals import order_status_changed
    from app.feedback import reviews
    from app.feedback.web import (
        admin_reviews,  # noqa: F401  (admin routes)
        bp,
    )

    show_with_book(app, reviews.HAS_REVIEWS, reviews.has_reviews_expression())
    order_status_changed.connect(reviews.on_order_status_changed)
    reviews.register_send_checks()
    app.register_blueprint(bp)
