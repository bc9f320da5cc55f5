"""Campaigns: mailings to a segment of members with a random hold-out, and their report
(conversion and revenue per member, treated against hold-out, with 95 % intervals)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.campaigns.web import admin_campaigns  # noqa: F401  (admin routes)
