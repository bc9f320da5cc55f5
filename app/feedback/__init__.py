"""Feedback: ratings and reviews of delivered books, their moderation, and the satisfaction
survey after an order."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.feedback.web import (
        admin_reviews,  # noqa: F401  (admin routes)
        bp,
    )

    app.register_blueprint(bp)
