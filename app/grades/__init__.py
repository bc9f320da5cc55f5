"""Grades: the tier table, a member's standing and grade changes as paid spend rises and
falls, and the discount each grade gives."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered), the `tier_label`
    template filter, and the grade's discount rate read with the member at log-in."""
    from app.grades.labels import tier_label
    from app.grades.tiers import discount_rate_column
    from app.grades.web import admin_tiers  # noqa: F401  (admin routes)
    from app.membership import login
    from app.membership.models import Member

    app.add_template_filter(tier_label, "tier_label")
    login.load_with_member(app, Member.loaded_discount_rate,
                           discount_rate_column(Member.tier_code))
