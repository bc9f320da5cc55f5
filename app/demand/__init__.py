"""Demand lists: members and confirmed visitors ask for books out of stock or not carried;
stock receipts serve them (holds and the arrival mail, once per reader); unsubscribe links."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered), the send-time checks of
    its mail and the hold expiry on the mail sender's passes."""
    from app.demand import unsubscribe
    from app.demand.cli import expire_holds_on_sender_pass
    from app.demand.web import admin_demand, admin_stock, bp  # noqa: F401  (admin routes)
    from app.mail.cli import add_sender_pass_hook

    unsubscribe.register_send_checks()
    add_sender_pass_hook(expire_holds_on_sender_pass)

    app.register_blueprint(bp, url_prefix="/demand")
