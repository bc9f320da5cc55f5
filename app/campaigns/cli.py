"""The campaigns' part in the mail sender's passes: a sent campaign's mails are written to the
outbox a batch at a time (`services.enqueue_pending`), by the senders, not by the admin's
request that sent it."""

from __future__ import annotations

from app.campaigns import services
from app.core.extensions import db


def enqueue_campaigns_on_sender_pass() -> None:
    """A mail sender pass hook: write the next batch of sent campaigns' mails to the outbox,
    then commit. A failure propagates to the sender's PassHooks: rolled back, logged once,
    retried with backoff."""
    if services.enqueue_pending():
        db.session.commit()
