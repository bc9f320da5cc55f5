"""CRM: customers as staff see them: the list and the 360-degree record, notes and follow-ups,
tags, contact changes, data export and erasure, and the admin dashboard's figures."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its admin pages (routes on the admin blueprint, so this
    runs before the admin blueprint is registered) and its one public page (a customer's
    answer to a mail from their record: its blueprint); the receivers that keep each member's order
    figures (`order_placed`, `order_status_changed`, `order_refunded`); the customer record's
    panels from the features below (analytics, feedback, returns, support) and the erasure of
    what a member wrote in feedback, on returns and in service cases.

    Every registration is idempotent: an app built again in the same process (the tests) adds
    nothing twice."""
    from app.core.i18n import lazy_gettext as _l
    from app.core.signals import order_placed, order_refunded, order_status_changed
    from app.crm import after_sale_story, customers, erasure, timeline
    from app.crm.web import (  # noqa: F401  (admin routes)
        admin_customer_mail,
        admin_customers,
        admin_dashboard,
        admin_phone_orders,
        admin_tasks,
        bp,
        panels,
    )
    from app.feedback import reviews
    from app.returns import gdpr as returns_gdpr
    from app.support import cases as support_cases

    order_placed.connect(customers.on_order_placed)
    order_status_changed.connect(customers.on_order_status_changed)
    order_refunded.connect(customers.on_order_refunded)
    customers.register_customer_panel(
        "analytics", _l("Segment and lifetime value"), "admin/customers/_analytics_panel.html",
        panels.analytics_panel, order=40)
    customers.register_customer_panel(
        "feedback", _l("Reviews and feedback"), "admin/customers/_feedback_panel.html",
        panels.feedback_panel, order=50)
    customers.register_customer_panel(
        "returns", _l("Returns and refunds"), "admin/customers/_returns_panel.html",
        panels.returns_panel, order=55)
    customers.register_customer_panel(
        "cases", _l("Service cases"), "admin/customers/_cases_panel.html",
        panels.cases_panel, order=56)
    erasure.register_erasure_hook(reviews.scrub_member_feedback)
    erasure.register_erasure_hook(returns_gdpr.scrub_member_returns)
    erasure.register_erasure_hook(support_cases.scrub_member_cases)
    # The customer's timeline: the kinds of the features below the CRM (returns and service
    # cases add theirs with timeline.register_timeline_source from their own init_app).
    timeline.register_default_sources()
    after_sale_story.register()
    app.register_blueprint(bp)  # the page where a customer answers a mail from their record
