"""CRM: customers as staff see them: the list and the 360-degree record, notes and follow-ups,
tags, contact changes, data export and erasure, and the admin dashboard's figures."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.crm.web import admin_customers, admin_dashboard  # noqa: F401  (admin routes)
