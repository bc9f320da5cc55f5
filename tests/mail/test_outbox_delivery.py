"""The outbox sender against a real SMTP server: delivered once, retried, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app.db import utcnow
from app.extensions import db
from app.models import MailStatus, OutboxMail
from app.services import mail as mail_service
from app.services.mail import deliver_due, resend
from tests.conftest import Inbox, free_port


def queue(n: int = 1, **overrides) -> list[int]:
    ids = []
    for i in range(n):
        values = {
            "kind": "test",
            "to_email": f"reader{i}@example.test",
            "subject": f"Hello {i}",
            "body_text": f"Body {i}",
            "message_id": f"<test-{i}-{overrides.get('to_email', '')}@bookstation.mail>",
            "headers": {"List-Unsubscribe": "<http://localhost/unsubscribe/abc>"},
        }
        values.update(overrides)
        row = OutboxMail(**values)
        db.session.add(row)
        db.session.flush()
        ids.append(row.id)
    db.session.commit()
    return ids


def statuses() -> list[MailStatus]:
    return list(db.session.scalars(sa.select(OutboxMail.status).order_by(OutboxMail.id)))


def test_a_queued_mail_reaches_the_smtp_server_with_its_headers(ctx, smtp_inbox):
    queue(1)

    report = deliver_due()

    assert len(report.sent) == 1
    [message] = smtp_inbox.parsed()
    assert message["To"] == "reader0@example.test"
    assert message["Subject"] == "Hello 0"
    assert message["List-Unsubscribe"] == "<http://localhost/unsubscribe/abc>"
    assert message["Message-ID"] == "<test-0-@bookstation.mail>"
    row = db.session.scalar(sa.select(OutboxMail))
    assert row.status == MailStatus.SENT and row.sent_at is not None and row.attempts == 1


def test_delivering_twice_sends_each_message_once(ctx, smtp_inbox):
    queue(3)

    deliver_due()
    second = deliver_due()

    assert second.claimed == 0
    assert len(smtp_inbox.messages) == 3


def test_smtp_down_loses_nothing_and_everything_goes_once_it_is_back(app, app_config):
    port = free_port()
    app.config["MAIL_PORT"] = port
    app.extensions["mail"].port = port
    with app.app_context():
        queue(3)

        down = deliver_due()

        assert len(down.failed) == 3 and not down.sent
        rows = db.session.scalars(sa.select(OutboxMail)).all()
        assert all(r.status == MailStatus.PENDING and r.attempts == 1 for r in rows)
        assert all(r.next_attempt_at > utcnow() for r in rows)
        assert all("Connection" in (r.last_error or "") for r in rows)
        assert deliver_due().claimed == 0  # backing off, not hammering

        inbox = Inbox(port=port)
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow()))
            db.session.commit()
            back = deliver_due()
            again = deliver_due()
        finally:
            controller.stop()

        assert len(back.sent) == 3 and again.claimed == 0
        assert sorted(rcpt[0] for _, rcpt, _ in inbox.messages) == [
            "reader0@example.test", "reader1@example.test", "reader2@example.test"]


@pytest.fixture
def app_config():
    return {"MAIL_MAX_ATTEMPTS": 2}


def test_a_message_that_keeps_failing_is_marked_failed_and_staff_can_resend_it(app, smtp_inbox):
    with app.app_context():
        [mail_id] = queue(1, to_email="broken\naddress@example.test")
        for _ in range(2):
            deliver_due()
            db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow()))
            db.session.commit()

        row = db.session.get(OutboxMail, mail_id)
        assert row.status == MailStatus.FAILED and row.attempts == 2
        assert row.last_error

        row.to_email = "fixed@example.test"
        resend(mail_id)
        db.session.commit()
        deliver_due()

        assert db.session.get(OutboxMail, mail_id).status == MailStatus.SENT
        assert [rcpt for _, rcpt, _ in smtp_inbox.messages] == [["fixed@example.test"]]


def test_one_broken_message_does_not_stop_the_rest_of_the_batch(ctx, smtp_inbox):
    queue(1, to_email="broken\naddress@example.test", message_id="<bad@bookstation.mail>")
    queue(2)

    report = deliver_due()

    assert len(report.failed) == 1 and len(report.sent) == 2
    assert len(smtp_inbox.messages) == 2


def test_a_message_claimed_by_a_live_sender_is_not_taken_by_another(ctx, smtp_inbox):
    [mail_id] = queue(1)
    db.session.execute(sa.update(OutboxMail).values(claimed_until=utcnow() + timedelta(minutes=2)))
    db.session.commit()

    assert deliver_due().claimed == 0

    # The first sender died: once its claim lapses the message goes out.
    db.session.execute(sa.update(OutboxMail).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert deliver_due().sent == [mail_id]


def test_a_send_check_cancels_a_mail_that_is_no_longer_wanted(ctx, smtp_inbox):
    queue(1, kind="unwanted")
    mail_service.register_send_check("unwanted", lambda row: False)
    try:
        report = deliver_due()
    finally:
        mail_service._send_checks.pop("unwanted")

    assert report.cancelled and not smtp_inbox.messages
    assert statuses() == [MailStatus.CANCELLED]


def test_retry_delays_grow_and_then_stay_at_the_last_step():
    delays = [mail_service.retry_delay(n).total_seconds() for n in range(1, 12)]

    assert delays == sorted(delays)
    assert delays[-1] == mail_service.RETRY_DELAYS[-1]
