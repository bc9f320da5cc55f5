"""Demand lists: members and confirmed visitors ask for books out of stock or not carried;
stock receipts serve them (holds and the arrival mail, once per reader); unsubscribe links."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.demand.web import admin_demand, admin_stock, bp  # noqa: F401  (admin routes)

    app.register_blueprint(bp, url_prefix="/demand")
