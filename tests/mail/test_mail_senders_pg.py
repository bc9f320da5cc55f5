"""Two mail senders at once on PostgreSQL: every message is delivered exactly once."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from app.core.extensions import db
from app.mail.sender import deliver_due
from app.models import MailStatus, OutboxMail
from tests.helpers import run_at_once


def test_two_senders_at_once_deliver_each_message_exactly_once(pg_app, smtp_inbox):
    with pg_app.app_context():
        db.session.add_all(
            OutboxMail(kind="test", to_email=f"r{i}@example.test", subject=f"S{i}",
                       body_text="b", message_id=f"<m{i}@bookstation.mail>")
            for i in range(300)
        )
        db.session.commit()

    sent_by: dict[str, list[int]] = {}

    def sender(meet, name: str) -> None:
        with pg_app.app_context():
            meet()
            mine: list[int] = []
            while True:
                report = deliver_due(limit=20)
                if report.claimed == 0:
                    break
                mine.extend(report.sent)
            sent_by[name] = mine
            db.session.remove()

    errors = run_at_once(sender, [("a",), ("b",)], wait_timeout=None, join_timeout=120)

    assert not errors
    assert sent_by["a"] and sent_by["b"], "both senders should have taken a share"
    assert not set(sent_by["a"]) & set(sent_by["b"])
    ids = Counter(message["Message-ID"] for message in smtp_inbox.parsed())
    assert len(ids) == 300 and set(ids.values()) == {1}
    with pg_app.app_context():
        assert db.session.scalar(
            sa.select(sa.func.count()).where(OutboxMail.status == MailStatus.SENT)
        ) == 300


def test_a_pass_claims_no_more_than_its_batch_on_postgresql(pg_app, smtp_inbox):
    # An `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` may be re-run by the planner and
    # claim everything; the claim reads its rows from a materialised CTE instead.
    with pg_app.app_context():
        db.session.add_all(
            OutboxMail(kind="test", to_email=f"r{i}@example.test", subject=f"S{i}",
                       body_text="b", message_id=f"<m{i}@bookstation.mail>")
            for i in range(60)
        )
        db.session.commit()

        report = deliver_due(limit=10)

        assert len(report.sent) == 10 and len(smtp_inbox.messages) == 10
        assert db.session.scalar(
            sa.select(sa.func.count()).where(OutboxMail.status == MailStatus.PENDING,
                                             OutboxMail.claimed_until.is_(None))
        ) == 50
        db.session.remove()
