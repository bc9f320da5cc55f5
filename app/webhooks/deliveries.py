"""The delivery log: an endpoint's deliveries (filtered), replaying one, and a test event.

Replaying puts the very delivery back in the queue (same body, same event id: a receiver
that already has it recognises it), with a fresh WEBHOOK_GIVE_UP_AFTER; audited as
"webhook.replay". A test event ("webhook.test") goes to one endpoint only; audited as
"webhook.test". Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.mail.wakeup import mail_queued
from app.membership.models import Member
from app.webhooks.endpoints import get_endpoint
from app.webhooks.events import TEST_EVENT, queue_events
from app.webhooks.models import DeliveryStatus, WebhookDelivery


@dataclass(frozen=True)
class DeliveryFilter:
    status: str | None = None
    event_type: str | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found = []
        if self.status:
            found.append(WebhookDelivery.status == DeliveryStatus(self.status))
        if self.event_type:
            found.append(WebhookDelivery.event_type == self.event_type)
        return found

    def values(self) -> dict[str, str]:
        return {name: value for name, value in (("status", self.status),
                                                ("event", self.event_type)) if value}


def deliveries_query(endpoint_id: int, delivery_filter: DeliveryFilter) -> sa.Select:
    """An endpoint's deliveries matching the filter, newest first."""
    return (sa.select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id, *delivery_filter.conditions())
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()))


def status_counts(endpoint_id: int) -> dict[DeliveryStatus, int]:
    rows = db.session.execute(
        sa.select(WebhookDelivery.status, sa.func.count())
        .where(WebhookDelivery.endpoint_id == endpoint_id).group_by(WebhookDelivery.status))
    return {DeliveryStatus(status): count for status, count in rows}


def get_delivery(endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(_("There is no such delivery."))
    return delivery


def _state(delivery: WebhookDelivery) -> dict:
    return {"status": delivery.status.value, "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code, "last_error": delivery.last_error}


def replay(endpoint_id: int, delivery_id: int, actor: Member) -> WebhookDelivery:
    """Queue the delivery again, due now. Refused (InvalidInput) while a sender holds it."""
    delivery = get_delivery(endpoint_id, delivery_id)
    # Re-read under the row lock: a sender may have claimed it since the page was drawn.
    db.session.refresh(delivery, with_for_update=True)
    if delivery.status == DeliveryStatus.SENDING and delivery.claimed_until is not None \
            and delivery.claimed_until > utcnow():
        raise InvalidInput(_("This delivery is being sent right now; replay it once it is "
                             "done."))
    before = _state(delivery)
    now = utcnow()
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.requeued_at = now
    delivery.claimed_until = None
    db.session.flush()
    mail_queued()  # the senders wake at the commit
    audit.record(actor.id, actor.email, "webhook.replay", delivery, before=before,
                 after=_state(delivery) | {"event_id": delivery.event_id},
                 summary=f"{delivery.event_type} {delivery.event_id} to "
                         f"{delivery.endpoint.url}")
    return delivery


def send_test_event(endpoint_id: int, actor: Member) -> WebhookDelivery:
    """Queue a "webhook.test" event for this endpoint only (it need not subscribe to it).
    Refused (InvalidInput) for a disabled endpoint: nothing would go out."""
    endpoint = get_endpoint(endpoint_id)
    if not endpoint.active:
        raise InvalidInput(_("This endpoint is disabled: enable it to send it a test event."))
    now = utcnow()
    queue_events(TEST_EVENT, [{"endpoint_id": endpoint.id,
                               "message": "A test event from Bookstation."}],
                 endpoint_ids=[endpoint.id], now=now)
    delivery = db.session.scalars(
        sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id,
                                         WebhookDelivery.event_type == TEST_EVENT)
        .order_by(WebhookDelivery.id.desc()).limit(1)).one()
    audit.record(actor.id, actor.email, "webhook.test", endpoint,
                 after={"event_id": delivery.event_id}, summary=f"Test event to {endpoint.url}")
    return delivery
