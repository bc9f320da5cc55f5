"""Demand lists: members and confirmed visitors ask for books out of stock or not carried;
stock receipts serve them (holds and the arrival mail, once per reader); unsubscribe links.

The modules, by concern:
- `rules`: what a demand may say, and the errors of the demand services;
- `lists`: a member's demand list (record, cancel, read) and mail choices;
- `uncatalogued`: requests for books we do not carry, and linking them to a book;
- `visitors`: demand left with an address, its double opt-in, joining the account;
- `reports`: what staff read (readers waiting per book, the CSV, conversion);
- `stock`: stock receipts; `allocation`: sharing arrived copies among waiting readers;
  `arrival_mail`: the mails of one arrival; `holds`: how a hold ends and checkout's use of it;
- `cancelling`: the one way to cancel a demand;
- `tokens`: signed unsubscribe tokens; `unsubscribe`: what the link does, send-time checks.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its pages and its admin pages (routes on the admin
    blueprint, so this runs before the admin blueprint is registered); the send-time checks of
    its mail and the hold expiry on the mail sender's passes; and its receivers of the signals
    of lower features: a member joined (their visitor demand joins the account), a book was
    saved (requests for its ISBN become demand for it). Connecting the same receiver again, as
    every later create_app in the process does, changes nothing."""
    from app.core import signals
    from app.demand import uncatalogued, unsubscribe, visitors
    from app.demand.cli import expire_holds_on_sender_pass
    from app.demand.web import admin_demand, admin_stock, bp  # noqa: F401  (admin routes)
    from app.mail.cli import add_sender_pass_hook

    unsubscribe.register_send_checks()
    add_sender_pass_hook(expire_holds_on_sender_pass)

    signals.member_joined.connect(visitors.on_member_joined)
    signals.book_saved.connect(uncatalogued.on_book_saved)
    app.register_blueprint(bp, url_prefix="/demand")
