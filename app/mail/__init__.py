"""Mail: the outbox (queued in the business transaction, delivered after the commit by any
number of senders), the mail log for staff and the local mail catcher."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered)."""
    from app.mail.web import admin_mail_log  # noqa: F401  (admin routes)
