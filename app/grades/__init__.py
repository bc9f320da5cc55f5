"""Grades: the tier table, a member's standing and grade changes as paid spend rises and
falls, and the discount each grade gives.

A member's grade is the highest tier whose threshold their qualifying spend has reached. The
modules, by concern:

- `grading`: the pure rules (no Flask, no db): thresholds, the table's validity, what a grade
  becomes under the demotion policy and a hand-set grade;
- `settings`: the grade window and the demotion policy from the config;
- `table`: the stored tier table; `spend`: what counts as qualifying spend;
- `changes`: the member row lock and the `GradeChange` record every change shares;
- `member_regrade`: one member re-graded when an order is paid, cancelled or refunded;
- `staff_grades`: an admin sets or releases a member's grade (audited);
- `bulk_regrade`: everyone re-graded, after the table is replaced (audited) or on
  `flask tiers recompute`;
- `grade_up_mail`: the congratulation on a move up;
- `discount`: the rate a grade gives, read live; `reading`: standing, history, counts, lookup;
- `errors`, `labels`: refusals and names in the reader's language.

Services flush, never commit.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered), the `tier_label` and
    `tier_perks` template filters, and the grade's discount rate read with the member at log-in."""
    from app.grades.discount import discount_rate_column
    from app.grades.labels import tier_label, tier_perks
    from app.grades.web import admin_tiers  # noqa: F401  (admin routes)
    from app.membership import login
    from app.membership.models import Member

    app.add_template_filter(tier_label, "tier_label")
    app.add_template_filter(tier_perks, "tier_perks")
    login.load_with_member(app, Member.loaded_discount_rate,
                           discount_rate_column(Member.tier_code))
