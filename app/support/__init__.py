"""Support: service cases (a customer's question or complaint with its thread, the staff's
queues, the satisfaction question when a case closes) and their figures."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered); the automatic cases of
    a low satisfaction answer or a low review (receivers of `survey_answered` and
    `review_posted`, sent by feedback). Idempotent: an app built again in the same process
    adds nothing twice (blinker keys receivers by function)."""
    from app.core.signals import review_posted, survey_answered
    from app.support import cases
    from app.support.web import (
        admin_cases,  # noqa: F401  (admin routes)
        bp,
    )

    survey_answered.connect(cases.on_survey_answered)
    review_posted.connect(cases.on_review_posted)
    app.register_blueprint(bp)
