"""Webhooks: admins register endpoints (URL, events, secret); each event of the shop is
written, in its own transaction, as one delivery per subscribed endpoint, and senders POST it
after the commit, signed (HMAC-SHA256 with a timestamp), retried with backoff, logged and
replayable. docs/WEBHOOKS.md describes the events and the signature.

The modules, by concern:
- `events`: the event types, their payloads and queueing an event (`queue_event`);
- `receivers`: the receivers of the lower features' signals, one per event;
- `endpoints`: registering, editing, disabling an endpoint, its secret (audited);
- `signing`: the signature header and its check;
- `sender`: one sender pass (claim, POST, record), safe with many senders at once;
- `deliveries`: the delivery log, replay and the test event (audited);
- `cli`: `flask webhooks send`; `web/admin_webhooks`: the admin pages (admins only).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this feature into the app: its admin pages (routes on the admin blueprint, so this
    runs before the admin blueprint is registered), its receivers of the shop's events, and
    its delivery pass on the mail sender's passes. Idempotent."""
    from app.core import signals
    from app.mail.cli import add_sender_pass_hook
    from app.webhooks import receivers
    from app.webhooks.sender import deliver_on_sender_pass
    from app.webhooks.web import admin_webhooks  # noqa: F401  (admin routes)

    signals.order_placed.connect(receivers.on_order_placed)
    signals.order_status_changed.connect(receivers.on_order_status_changed)
    signals.stock_received.connect(receivers.on_stock_received)
    signals.demand_created.connect(receivers.on_demand_created)
    signals.grade_changed.connect(receivers.on_grade_changed)
    signals.return_requested.connect(receivers.on_return_requested)
    add_sender_pass_hook(deliver_on_sender_pass)
