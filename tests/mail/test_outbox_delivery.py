"""The outbox sender against a real SMTP server: delivered once, retried, never lost."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.mail import mail_log, send_checks, sender, smtp
from app.mail.mail_log import resend
from app.mail.sender import deliver_due
from app.models import MailStatus, OutboxMail
from tests.helpers import Inbox, deliver_once_the_server_is_back, smtp_down, start_smtp


def queue(n: int = 1, **overrides) -> list[int]:
    ids = []
    for i in range(n):
        values = {
            "kind": "test",
            "to_email": f"reader{i}@example.test",
            "subject": f"Hello {i}",
            "body_text": f"Body {i}",
            "message_id": f"<test-{i}-{overrides.get('to_email', '').replace(chr(10), '')}"
                          "@bookstation.mail>",
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
    port = smtp_down(app)
    with app.app_context():
        queue(3)

        down = deliver_due()

        assert len(down.failed) == 3 and not down.sent
        rows = db.session.scalars(sa.select(OutboxMail)).all()
        assert all(r.status == MailStatus.PENDING and r.attempts == 1 for r in rows)
        assert all(r.next_attempt_at > utcnow() for r in rows)
        assert all("Connection" in (r.last_error or "") for r in rows)
        assert deliver_due().claimed == 0  # backing off, not hammering

        inbox, back, again = deliver_once_the_server_is_back(port)

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
    send_checks.register_send_check("unwanted", lambda row: False)
    try:
        report = deliver_due()
    finally:
        send_checks._send_checks.pop("unwanted")

    assert report.cancelled and not smtp_inbox.messages
    assert statuses() == [MailStatus.CANCELLED]


def test_retry_delays_grow_and_then_stay_at_the_last_step():
    delays = [sender.retry_delay(n).total_seconds() for n in range(1, 12)]

    assert delays == sorted(delays)
    assert delays[-1] == sender.RETRY_DELAYS[-1]


class SenderKilled(BaseException):
    """Stands for the sender's process being killed: not an Exception, so nothing catches it."""


def test_a_sender_killed_mid_batch_loses_nothing_and_repeats_at_most_the_message_in_flight(
        app, smtp_inbox):
    app.config["MAIL_RECORD_EVERY"] = 1  # record each message as soon as SMTP accepted it
    with app.app_context():
        _kill_after_the_third_then_recover(smtp_inbox, repeated=1)


def test_with_grouped_records_a_killed_sender_repeats_at_most_one_group(app, smtp_inbox):
    app.config["MAIL_RECORD_EVERY"] = 2
    app.config["MAIL_RECORD_SECONDS"] = 60  # groups close by size only, even on a slow machine
    with app.app_context():
        # 1 and 2 were recorded as a group; 3 was accepted but not recorded yet
        _kill_after_the_third_then_recover(smtp_inbox, repeated=1)
    app.config["MAIL_RECORD_EVERY"] = 5
    smtp_inbox.messages.clear()
    with app.app_context():
        db.session.execute(sa.delete(OutboxMail))
        db.session.commit()
        _kill_after_the_third_then_recover(smtp_inbox, repeated=3, recorded=0)


def _kill_after_the_third_then_recover(smtp_inbox, repeated: int, recorded: int = 2) -> None:
    from collections import Counter

    from flask_mail import email_dispatched

    queue(5)

    def killed_after_the_third_is_accepted(app, message):
        if len(smtp_inbox.messages) == 3:
            raise SenderKilled  # SMTP took the third; "sent" was not recorded yet

    with email_dispatched.connected_to(killed_after_the_third_is_accepted):
        with pytest.raises(SenderKilled):
            deliver_due()

    assert statuses() == [MailStatus.SENT] * recorded + [MailStatus.PENDING] * (5 - recorded)
    assert deliver_due().claimed == 0  # the dead sender's lease still holds the rest
    db.session.execute(sa.update(OutboxMail).where(OutboxMail.claimed_until.is_not(None))
                       .values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    after = deliver_due()

    assert len(after.sent) == 5 - recorded and statuses() == [MailStatus.SENT] * 5
    copies = Counter(message["Message-ID"] for message in smtp_inbox.parsed())
    assert len(copies) == 5  # nothing lost
    # only what was accepted but not yet recorded went twice
    assert sorted(copies.values()) == [1] * (5 - repeated) + [2] * repeated


def test_a_pass_claims_no_more_than_its_batch(ctx, smtp_inbox):
    queue(7)

    first = deliver_due(limit=3)

    assert len(first.sent) == 3 and len(smtp_inbox.messages) == 3
    assert statuses().count(MailStatus.PENDING) == 4


def test_a_pass_whose_lease_runs_short_hands_the_rest_back_unsent(app, smtp_inbox):
    app.config["MAIL_CLAIM_SECONDS"] = 0  # every lease is already over when sending starts
    with app.app_context():
        ids = queue(3)

        report = deliver_due()

        assert report.released == ids and not report.sent and not smtp_inbox.messages
        rows = db.session.scalars(sa.select(OutboxMail)).all()
        assert all(r.status == MailStatus.PENDING and r.claimed_until is None
                   and r.attempts == 0 for r in rows)


def test_a_send_check_that_breaks_fails_only_its_own_messages(ctx, smtp_inbox):
    queue(1, kind="broken_check", message_id="<bc@bookstation.mail>")
    queue(2)

    def broken(row):
        raise RuntimeError("check exploded")

    send_checks.register_send_check("broken_check", broken)
    try:
        report = deliver_due()
    finally:
        send_checks._send_checks.pop("broken_check")

    assert len(report.sent) == 2 and len(report.failed) == 1
    row = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.kind == "broken_check"))
    assert row.status == MailStatus.PENDING and "check exploded" in row.last_error


def test_the_list_unsubscribe_header_goes_out_as_a_plain_url(ctx, smtp_inbox):
    long_url = "http://localhost/demand/unsubscribe/" + "x" * 150
    queue(1, headers={"List-Unsubscribe": f"<{long_url}>"}, subject="Dune — 到货了")

    deliver_due()

    [(_, _, raw)] = smtp_inbox.messages
    assert f"List-Unsubscribe: <{long_url}>".encode() in raw  # not RFC 2047-encoded
    [message] = smtp_inbox.parsed()
    assert message["Subject"] == "Dune — 到货了"


# ------------------------------------------------------------- issue 17: retries by age


def age(mail_id: int, *, created: timedelta, attempts: int = 0) -> None:
    db.session.execute(sa.update(OutboxMail).where(OutboxMail.id == mail_id).values(
        created_at=utcnow() - created, attempts=attempts, next_attempt_at=utcnow()))
    db.session.commit()


def test_an_outage_longer_than_eight_attempts_keeps_the_mail_queued(app):
    smtp_down(app)
    with app.app_context():
        [mail_id] = queue(1)
        age(mail_id, created=timedelta(hours=2), attempts=8)  # the old limit: 8 tries, ~1h52

        report = deliver_due()

        row = db.session.get(OutboxMail, mail_id)
        assert report.failed == [mail_id] and not report.gave_up
        assert row.status == MailStatus.PENDING and row.attempts == 9
        # the backoff is capped: tried again within 15 minutes, not hours later
        assert row.next_attempt_at <= utcnow() + timedelta(minutes=15)
        assert max(sender.RETRY_DELAYS) == 15 * 60


def test_mail_still_undelivered_after_MAIL_GIVE_UP_AFTER_is_marked_failed(app):
    smtp_down(app)
    with app.app_context():
        [old, young] = queue(2)
        age(old, created=timedelta(days=3, minutes=1), attempts=3)
        age(young, created=timedelta(days=2, hours=23, minutes=58), attempts=300)

        report = deliver_due()

        assert report.gave_up == [old]
        assert db.session.get(OutboxMail, old).status == MailStatus.FAILED
        young_row = db.session.get(OutboxMail, young)
        assert young_row.status == MailStatus.PENDING
        # its last retry is made at the deadline, three days after it was queued
        assert young_row.next_attempt_at == young_row.created_at + timedelta(days=3)


def test_a_resent_mail_gets_a_fresh_MAIL_GIVE_UP_AFTER(app):
    smtp_down(app)
    with app.app_context():
        [mail_id] = queue(1)
        age(mail_id, created=timedelta(days=4))
        deliver_due()
        assert db.session.get(OutboxMail, mail_id).status == MailStatus.FAILED

        resend(mail_id)
        db.session.commit()
        deliver_due()

        row = db.session.get(OutboxMail, mail_id)
        assert row.status == MailStatus.PENDING and row.attempts == 1


class RefusingInbox(Inbox):
    """Refuses some recipients at RCPT: 550 (no such user) or 451 (try again later)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone"):
            return "550 5.1.1 No such user"
        if address.startswith("busy"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_recipient_refused_outright_fails_after_MAIL_MAX_ATTEMPTS_a_busy_one_keeps_trying(
        app):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    controller = start_smtp(RefusingInbox(), app)
    try:
        with app.app_context():
            [gone] = queue(1, to_email="gone@example.test", message_id="<gone@bookstation.mail>")
            [busy] = queue(1, to_email="busy@example.test", message_id="<busy@bookstation.mail>")
            for _ in range(4):
                deliver_due()
                db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow()))
                db.session.commit()

            gone_row, busy_row = db.session.get(OutboxMail, gone), db.session.get(OutboxMail, busy)
            assert gone_row.status == MailStatus.FAILED and gone_row.attempts == 2
            assert "550" in gone_row.last_error
            assert busy_row.status == MailStatus.PENDING and busy_row.attempts == 4
    finally:
        controller.stop()


def test_with_default_settings_a_killed_sender_repeats_only_the_message_in_flight(
        ctx, smtp_inbox):
    assert ctx.config["MAIL_RECORD_EVERY"] == 1
    _kill_after_the_third_then_recover(smtp_inbox, repeated=1)


# --------------------------------------------------- issue 17: is the mail server refusing?


def test_no_trouble_is_reported_while_mail_goes_out(ctx, smtp_inbox):
    assert mail_log.delivery_trouble() is None  # nothing tried yet
    queue(2)
    deliver_due()

    assert mail_log.delivery_trouble() is None


def test_failures_since_the_last_accepted_message_are_reported_until_one_goes_out(app):
    inbox = Inbox()
    controller = start_smtp(inbox, app)
    with app.app_context():
        queue(1)
        deliver_due()
        controller.stop()  # the server goes away
        db.session.execute(sa.delete(OutboxMail).where(OutboxMail.status == MailStatus.PENDING))
        for n in range(3):
            queue(1, to_email=f"later{n}@example.test", message_id=f"<later{n}@bookstation.mail>")
        deliver_due()

        trouble = mail_log.delivery_trouble()

        assert trouble is not None
        assert trouble.failed_attempts == 3 and trouble.waiting == 3
        assert "Connection" in trouble.latest_error or "refused" in trouble.latest_error
        assert trouble.since <= trouble.latest_at <= utcnow()

        controller = start_smtp(inbox)  # back: the retries go out and the warning ends
        try:
            db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow()))
            db.session.commit()
            deliver_due()
        finally:
            controller.stop()
        assert mail_log.delivery_trouble() is None


# ------------------------------------- a server refusing the shop is not refusing the message


class RefusingServer(Inbox):
    """A mail server that refuses the shop itself: every MAIL FROM gets `answer`."""

    def __init__(self, answer: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.answer = answer

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return self.answer


class RefusingContent(Inbox):
    """Accepts the envelope, then answers the end of DATA with `answer`."""

    def __init__(self, answer: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.answer = answer

    async def handle_DATA(self, server, session, envelope):
        return self.answer


def _passes(n: int) -> None:
    for _ in range(n):
        deliver_due()
        db.session.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow()))
        db.session.commit()


@pytest.mark.parametrize("answer", ["530 5.7.0 Authentication required",
                                    "550 5.7.1 Relaying denied"])
def test_a_server_refusing_MAIL_FROM_keeps_the_queue_waiting_past_MAIL_MAX_ATTEMPTS(
        app, answer):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    controller = start_smtp(RefusingServer(answer), app)
    try:
        with app.app_context():
            ids = queue(3)

            _passes(4)

            rows = [db.session.get(OutboxMail, i) for i in ids]
            assert [r.status for r in rows] == [MailStatus.PENDING] * 3
            assert all(r.attempts == 4 and answer[:3] in r.last_error for r in rows)
            trouble = mail_log.delivery_trouble()
            assert trouble is not None and trouble.waiting == 3
            assert answer[:3] in trouble.latest_error
    finally:
        controller.stop()


def test_a_server_refusing_the_DATA_command_is_retried_but_a_refused_message_fails(app):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    controller = start_smtp(RefusingContent("554 5.6.0 Message content rejected"), app)
    try:
        with app.app_context():
            [mail_id] = queue(1)

            _passes(3)

            row = db.session.get(OutboxMail, mail_id)
            assert row.status == MailStatus.FAILED and row.attempts == 2
            assert "554" in row.last_error
    finally:
        controller.stop()


@pytest.mark.parametrize("exc, permanent", [
    (smtplib.SMTPSenderRefused(550, b"5.7.1 Relaying denied", "shop@example.test"), False),
    (smtplib.SMTPSenderRefused(530, b"5.7.0 Authentication required", "shop@"), False),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"), False),
    (smtplib.SMTPHeloError(501, b"Bad HELO"), False),
    (smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server."), False),
    (smtplib.SMTPDataError(554, b"5.5.1 No valid recipients"), False),  # the DATA command
    (smtplib.SMTPRecipientsRefused({"a@x.test": (530, b"5.7.0 Authentication required")}),
     False),
    (smtplib.SMTPRecipientsRefused({"a@x.test": (554, b"5.7.1 Relay access denied")}), False),
    (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"5.1.1 No such user")}), True),
    (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"No such user"),
                                    "b@x.test": (451, b"Later")}), False),
    (smtp.MessageRefused(552, b"5.3.4 Message too big"), True),
    (smtp.MessageRefused(554, b"5.7.1 Spam"), True),
    (smtp.MessageRefused(550, b"5.7.1 Relaying denied"), False),
    (smtp.MessageRefused(451, b"4.3.0 Try later"), False),
])
def test_only_a_refusal_of_the_recipient_or_the_message_counts_toward_MAIL_MAX_ATTEMPTS(
        exc, permanent):
    assert smtp.is_permanent(exc) is permanent
