"""Two webhook senders at once on PostgreSQL (FOR UPDATE SKIP LOCKED): no delivery is ever
POSTed twice, every one is delivered, and an event is queued in its own transaction."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.demand.stock import receive_stock
from app.webhooks.events import STOCK_RECEIVED, queue_events
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from app.webhooks.sender import deliver_due
from tests.factories import make_book
from tests.helpers import run_at_once
from tests.webhooks.conftest import make_endpoint

EVENTS = 60


def _race(app, passes_at) -> dict[str, list[int]]:
    delivered_by: dict[str, list[int]] = {}

    def sender(meet, name: str) -> None:
        with app.app_context():
            meet()
            mine: list[int] = []
            for now in passes_at:
                while True:
                    report = deliver_due(limit=7, now=now)
                    mine.extend(report.delivered)
                    if report.claimed == 0:
                        break
            delivered_by[name] = mine
            db.session.remove()

    errors = run_at_once(sender, [("a",), ("b",)], wait_timeout=None, join_timeout=120)
    assert not errors
    return delivered_by


def test_two_senders_at_once_deliver_each_delivery_exactly_once(pg_app, receiver):
    with pg_app.app_context():
        make_endpoint(receiver.url + "/one")
        make_endpoint(receiver.url + "/two")
        queue_events(STOCK_RECEIVED, ({"receipt": {"id": n}} for n in range(EVENTS)))
        db.session.commit()

    delivered_by = _race(pg_app, [None])

    assert delivered_by["a"] and delivered_by["b"], "both senders should have taken a share"
    assert not set(delivered_by["a"]) & set(delivered_by["b"])
    posted = Counter((r.path, r.headers["Bookstation-Delivery"]) for r in receiver.received)
    assert len(posted) == 2 * EVENTS and set(posted.values()) == {1}
    with pg_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(
            WebhookDelivery.status == DeliveryStatus.DELIVERED)) == 2 * EVENTS


def test_two_senders_and_an_endpoint_down_for_minutes_deliver_each_once_it_is_back(
        pg_app, receiver):
    with pg_app.app_context():
        secret = make_endpoint(receiver.url).secret
        queue_events(STOCK_RECEIVED, ({"receipt": {"id": n}} for n in range(20)))
        db.session.commit()
    receiver.stop()
    start = utcnow()
    _race(pg_app, [start, start + timedelta(minutes=2), start + timedelta(minutes=5)])
    assert receiver.received == []

    receiver.start()
    _race(pg_app, [start + timedelta(hours=1)])

    posted = Counter(receiver.event_ids())
    assert len(posted) == 20 and set(posted.values()) == {1}
    assert receiver.all_signed_with(secret)


def test_a_delivery_commits_and_rolls_back_with_its_event_on_postgresql(pg_app):
    with pg_app.app_context():
        make_endpoint("http://127.0.0.1:9/hooks")
        book = make_book(stock_on_hand=0)
        db.session.commit()

        receive_stock(book.id, 2)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0

        receive_stock(book.id, 2)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 1
        db.session.remove()
