"""Real `flask webhooks send` processes on PostgreSQL with a real HTTP receiver: two senders
deliver every event once; a sender killed mid-batch loses nothing and another sends again at
most the one delivery whose answer the dead one never read; an idle sender is woken by the
commit that queues an event (NOTIFY)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from app.core.extensions import db
from app.webhooks.events import STOCK_RECEIVED, queue_events
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.helpers import wait_until
from tests.mail.test_mail_sender_processes_pg import stop
from tests.webhooks.conftest import make_endpoint

ROOT = Path(__file__).resolve().parents[2]


def start_sender(database_url: str, *args: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "BOOKSTATION_ENV": "production", "SECRET_KEY": "sender-test",
                   "DATABASE_URL": database_url, "LOG_LEVEL": "warning", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "run", "webhooks", "send", *args],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def queue(count: int, start: int = 0) -> None:
    queue_events(STOCK_RECEIVED, ({"receipt": {"id": n}} for n in range(start, start + count)))
    db.session.commit()


def delivered() -> int:
    db.session.rollback()  # a fresh snapshot each time
    return db.session.scalar(sa.select(sa.func.count()).where(
        WebhookDelivery.status == DeliveryStatus.DELIVERED))


def test_two_sender_processes_deliver_every_event_once(pg_app, pg_schema, receiver):
    with pg_app.app_context():
        secret = make_endpoint(receiver.url).secret
        queue(40)
    senders = [start_sender(pg_schema, "--batch", "3", "--interval", "0.2") for _ in range(2)]
    try:
        with pg_app.app_context():
            wait_until(lambda: delivered() == 40, 90, "every delivery")
            db.session.remove()
    finally:
        errors = [stop(sender) for sender in senders]

    copies = Counter(receiver.event_ids())
    assert len(copies) == 40 and set(copies.values()) == {1}, errors
    assert receiver.all_signed_with(secret)


def test_a_sender_killed_mid_batch_loses_nothing_and_another_resends_at_most_one(
        pg_app, pg_schema, receiver):
    with pg_app.app_context():
        make_endpoint(receiver.url)
        queue(30)
    first = start_sender(pg_schema, "--batch", "30", "--interval", "0.2",
                         WEBHOOK_CLAIM_SECONDS="6")
    receiver.kill_at, receiver.victim = 12, first  # dies before the 12th answer is read
    try:
        assert first.wait(timeout=90) == -signal.SIGKILL
    finally:
        stop(first)
    assert len(receiver.received) == 12
    with pg_app.app_context():
        assert delivered() == 11  # every answer read was recorded
        second = start_sender(pg_schema, "--batch", "30", "--interval", "0.2",
                              WEBHOOK_CLAIM_SECONDS="6")
        try:
            wait_until(lambda: delivered() == 30, 90, "the second sender to finish")
        finally:
            errors = stop(second)
        db.session.remove()

    copies = Counter(receiver.event_ids())
    assert len(copies) == 30, errors  # every event delivered
    twice = [event_id for event_id, n in copies.items() if n > 1]
    assert twice == [receiver.event_ids()[11]]  # only the one whose answer was never read
    assert max(copies.values()) == 2


def test_an_idle_sender_process_is_woken_by_the_commit_that_queues_an_event(
        pg_app, pg_schema, receiver):
    with pg_app.app_context():
        make_endpoint(receiver.url)
        db.session.commit()
    sender = start_sender(pg_schema, "--interval", "60")  # polls once a minute
    try:
        with pg_app.app_context():
            time.sleep(1.0)  # started and waiting
            for n in range(3):
                queue(1, start=n)
                wait_until(lambda n=n: len(receiver.received) == n + 1, 30,
                           f"event {n} (no wake-up: the next poll is a minute away)")
                time.sleep(0.3)
            db.session.remove()
    finally:
        errors = stop(sender)
    assert len(set(receiver.event_ids())) == 3, errors
