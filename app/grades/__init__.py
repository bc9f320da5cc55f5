"""Grades: the tier table, a member's standing and grade changes as paid spend rises and
falls, and the discount each grade gives."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered), and the `tier_label`
    template filter."""
    from app.grades.labels import tier_label
    from app.grades.web import admin_tiers  # noqa: F401  (admin routes)

    app.add_template_filter(tier_label, "tier_label")
