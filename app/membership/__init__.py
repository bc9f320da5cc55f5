"""Membership: joining (by a confirmed address), logging in and out, server-side sessions,
profile and password, and member accounts."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered), and the pruning of the
    sign-in history on the mail sender's passes."""
    from app.mail.cli import add_sender_pass_hook
    from app.membership.cli import prune_sign_ins_on_sender_pass
    from app.membership.web import bp

    add_sender_pass_hook(prune_sign_ins_on_sender_pass)

    app.register_blueprint(bp, url_prefix="/account")
