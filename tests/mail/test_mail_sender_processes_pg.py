"""Real `flask mail-worker` processes on PostgreSQL with a real SMTP server (issue 17).

A sender killed with SIGKILL in the middle of a batch loses nothing, and another sender sends
again at most the one message whose SMTP answer the dead one never recorded. An idle sender
started with a very long poll interval still delivers new mail at once: the enqueuing
transaction NOTIFYs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.mail import wakeup as mail_service
from app.models import MailStatus, OutboxMail
from tests.helpers import free_port, smtp_server, wait_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class KillingInbox:
    """An SMTP server that keeps every message and, on the `kill_at`-th, kills `victim`
    with SIGKILL before answering: that sender dies with the message handed over but its
    "250 accepted" never read, let alone recorded."""

    port: int
    kill_at: int = 0
    victim: subprocess.Popen | None = None
    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        if self.victim is not None and len(self.messages) == self.kill_at:
            os.kill(self.victim.pid, signal.SIGKILL)
            self.victim.wait()
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter:
        return Counter(message_from_bytes(raw, policy=policy.default)["Message-ID"]
                       for raw in self.messages)


@pytest.fixture
def inbox() -> Iterator[KillingInbox]:
    with smtp_server(KillingInbox(port=free_port())) as inbox:
        yield inbox


def start_sender(database_url: str, smtp_port: int, *args: str,
                 **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "BOOKSTATION_ENV": "production",
        "SECRET_KEY": "sender-test",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "LOG_LEVEL": "warning",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "run", "mail-worker", *args],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    return errors


def queue(count: int, start: int = 0) -> None:
    db.session.add_all(
        OutboxMail(kind="test", to_email=f"r{i}@example.test", subject=f"S{i}",
                   body_text="b", message_id=f"<m{i}@bookstation.mail>")
        for i in range(start, start + count))
    mail_service.mail_queued()
    db.session.commit()


def sent_count() -> int:
    db.session.rollback()  # a fresh snapshot each time
    return db.session.scalar(
        sa.select(sa.func.count()).where(OutboxMail.status == MailStatus.SENT))


def test_a_sender_killed_mid_batch_loses_nothing_and_another_resends_at_most_one(
        pg_app, pg_schema, inbox):
    with pg_app.app_context():
        queue(60)
    first = start_sender(pg_schema, inbox.port, "--batch", "50",
                         MAIL_CLAIM_SECONDS="6", MAIL_POLL_SECONDS="0.2")
    inbox.victim, inbox.kill_at = first, 23  # the 23rd message of a 50-message batch

    try:
        assert first.wait(timeout=90) == -signal.SIGKILL
    finally:
        stop(first)
    assert len(inbox.messages) == 23
    with pg_app.app_context():
        assert sent_count() == 22  # every message the SMTP server answered is recorded

        second = start_sender(pg_schema, inbox.port, "--batch", "50",
                              MAIL_CLAIM_SECONDS="6", MAIL_POLL_SECONDS="0.2")
        try:
            wait_until(lambda: sent_count() == 60, 90, "the second sender to finish")
        finally:
            errors = stop(second)
        db.session.remove()

    copies = inbox.message_ids()
    assert len(copies) == 60, errors  # every mail delivered
    twice = [message_id for message_id, n in copies.items() if n > 1]
    assert twice == ["<m22@bookstation.mail>"]  # only the one whose answer was never read
    assert max(copies.values()) == 2


def test_an_idle_sender_is_woken_by_the_commit_that_queues_mail(pg_app, pg_schema, inbox):
    # Polls only once a minute: whatever arrives sooner came from the NOTIFY.
    sender = start_sender(pg_schema, inbox.port, "--interval", "60")
    try:
        with pg_app.app_context():
            queue(1)
            wait_until(lambda: len(inbox.messages) == 1, 60, "the first mail")
            time.sleep(0.5)  # the sender is idle now, waiting

            for round_no in range(1, 4):
                queue(1, start=round_no)
                wait_until(lambda n=round_no: len(inbox.messages) == n + 1, 20,
                           f"mail {round_no} (no wake-up: the next poll is a minute away)")
                time.sleep(0.3)
            db.session.remove()
    finally:
        errors = stop(sender)
    assert len(inbox.message_ids()) == 4, errors

