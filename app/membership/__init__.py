"""Membership: joining (by a confirmed address), logging in and out, server-side sessions,
profile and password, and member accounts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.membership.web import bp

    app.register_blueprint(bp, url_prefix="/account")
