"""The events a webhook may receive, their payloads, and queueing an event.

`queue_events` writes one `WebhookDelivery` per active endpoint subscribed to the event type,
in the caller's transaction (one bulk write; flushes nothing else, never commits): the event
and its deliveries commit or roll back together. At the commit the senders wake
(app.mail.wakeup: the mail sender's passes deliver webhooks too).

Every body is one JSON object, written once and sent byte for byte on every attempt and
replay: `{"id": <event id, a UUID>, "type": <event type>, "created_at": <ISO 8601, UTC>,
"data": {...}}`. Payloads are small and stable (docs/WEBHOOKS.md): ids and references (an
order's number BS-0000123), amounts as decimal strings, times in ISO 8601; no names,
addresses, emails or notes (the one typed text is the title and author of a book asked for
that the shop does not carry).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from app.core.bulk import bulk_insert
from app.core.db import utcnow
from app.core.extensions import db
from app.core.money import round_money
from app.mail.wakeup import mail_queued
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

ORDER_PLACED = "order.placed"
ORDER_STATUS_CHANGED = "order.status_changed"
STOCK_RECEIVED = "stock.received"
DEMAND_CREATED = "demand.created"
GRADE_CHANGED = "member.grade_changed"
RETURN_REQUESTED = "return.requested"
#: The events an endpoint may subscribe to, in the order the admin pages list them.
EVENT_TYPES = (ORDER_PLACED, ORDER_STATUS_CHANGED, STOCK_RECEIVED, DEMAND_CREATED,
               GRADE_CHANGED, RETURN_REQUESTED)
#: The event an admin sends to one endpoint to try it ("send test event"); no subscription.
TEST_EVENT = "webhook.test"


def money(value: Decimal | None) -> str | None:
    """An amount as JSON carries it: a decimal string with its cents ("12.50")."""
    return None if value is None else str(round_money(Decimal(value)))


def iso(value: datetime | None) -> str | None:
    """A time as JSON carries it: ISO 8601 in UTC, to the second ("2026-12-06T02:40:00Z")."""
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite read back without the type: stored in UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body(event_id: str, event_type: str, data: dict, at: datetime) -> str:
    """The JSON body of one event (compact, keys sorted: the same text on every attempt)."""
    return json.dumps({"id": event_id, "type": event_type, "created_at": iso(at), "data": data},
                      separators=(",", ":"), sort_keys=True)


@functools.cache
def _active_endpoints() -> sa.Select:
    """`subscribers`' query, built once: every order placed runs it."""
    return (sa.select(WebhookEndpoint.id, WebhookEndpoint.events)
            .where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id))


def subscribers(event_type: str) -> list[int]:
    """The ids of the active endpoints that receive `event_type`."""
    rows = db.session.execute(_active_endpoints())
    return [endpoint_id for endpoint_id, events in rows if event_type in (events or ())]


def queue_events(event_type: str, payloads: Iterable[dict], *,
                 endpoint_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Queue each payload as one event of `event_type` (its own event id) for every active
    endpoint subscribed to the type (or for `endpoint_ids`); how many deliveries were
    written. One bulk write in the caller's transaction; never commits. `payloads` is read
    only when some endpoint wants the event (a generator costs nothing otherwise)."""
    targets = subscribers(event_type) if endpoint_ids is None else endpoint_ids
    if not targets:
        return 0
    now = now or utcnow()
    rows = []
    for data in payloads:
        event_id = str(uuid.uuid4())
        text = body(event_id, event_type, data, now)
        rows.extend({
            "endpoint_id": endpoint_id, "event_type": event_type, "event_id": event_id,
            "payload": text, "status": DeliveryStatus.PENDING, "attempts": 0,
            "next_attempt_at": now, "created_at": now,
        } for endpoint_id in targets)
    if rows:
        bulk_insert(WebhookDelivery.__table__, rows)
        mail_queued()  # the senders wake at the commit (the mail sender runs the webhook pass)
    return len(rows)


def queue_event(event_type: str, data: dict | Callable[[], dict], *,
                now: datetime | None = None) -> int:
    """Queue one event (see `queue_events`); how many deliveries were written. `data` may be
    a function making the payload: it is called only when some endpoint wants the event."""
    return queue_events(event_type, (data() if callable(data) else data for _ in (1,)),
                        now=now)
