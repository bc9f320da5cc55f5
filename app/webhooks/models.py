"""Webhooks: the endpoints admins register and the delivery of each event to each of them
(the durable outbox of webhooks, written in the event's transaction)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.extensions import db


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a sender (maybe after a failed attempt)
    SENDING = "sending"  # claimed by a sender until `claimed_until`
    DELIVERED = "delivered"  # the endpoint answered 2xx
    # Still refused WEBHOOK_GIVE_UP_AFTER after it was queued (or replayed): an admin may
    # replay it.
    FAILED = "failed"


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


class WebhookEndpoint(db.Model):
    """A URL an admin registered to be told of some events, signed with its own secret.

    The secret signs every delivery (HMAC-SHA256), so it must be readable by the sender: it
    is kept as it is in this row (a hash could not sign). It is shown to the admin once, when
    made; pages show only its last four characters; it is in no audit entry, export or log.
    """

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str | None] = mapped_column(sa.String(200))
    # The event types it receives (app.webhooks.events.EVENT_TYPES), sorted.
    events: Mapped[list] = mapped_column(sa.JSON, default=list)
    secret: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def subscribes(self, event_type: str) -> bool:
        return event_type in (self.events or [])

    @property
    def secret_hint(self) -> str:
        return f"…{self.secret[-4:]}"


class WebhookDelivery(db.Model):
    """One event for one endpoint: its body exactly as sent, and the bookkeeping of sending it.

    The unique (endpoint, event) pair is what makes "once per endpoint and event" hold; a
    replay sends the same row (same body, same event id) again.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id",
                            name="uq_webhook_delivery_endpoint_id_event_id"),
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(sa.String(40))
    event_id: Mapped[str] = mapped_column(sa.String(36))  # a UUID, the same for every endpoint
    payload: Mapped[str] = mapped_column(sa.Text)  # the JSON body, byte for byte as sent
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When an admin replayed it; retries give up WEBHOOK_GIVE_UP_AFTER after this (or after
    # created_at when never replayed).
    requeued_at: Mapped[datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship()
