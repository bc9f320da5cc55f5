"""Campaigns: mailings to a segment, a grade or a list of chosen customers with a random
hold-out, and their report (conversion and revenue per member, treated against hold-out, with
95 % intervals)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its admin pages (routes on the admin blueprint, so this
    runs before the admin blueprint is registered); its mail's send-time check (a member who
    opted out or closed the account since the campaign was sent gets nothing) and the queueing
    of sent campaigns' mail on the mail sender's passes. Idempotent."""
    from app.campaigns import services
    from app.campaigns.cli import enqueue_campaigns_on_sender_pass
    from app.campaigns.web import admin_campaigns  # noqa: F401  (admin routes)
    from app.mail.cli import add_sender_pass_hook

    services.register_send_checks()
    add_sender_pass_hook(enqueue_campaigns_on_sender_pass)
