"""Demand on PostgreSQL: concurrent stock receipts for one book never tell a reader twice."""

from __future__ import annotations

import time

import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.demand.stock import receive_stock
from app.models import (
    Book,
    Demand,
    DemandStatus,
    Hold,
    HoldStatus,
    MailStatus,
    OutboxMail,
    StockReceipt,
)
from tests.factories import make_book, make_demand, make_member
from tests.helpers import run_at_once

HOLD_SECONDS = 0.3


def test_two_receipts_for_the_same_book_at_once_do_not_double_notify(pg_app):
    with pg_app.app_context():
        book = make_book(stock_on_hand=0)
        for _ in range(5):
            make_demand(make_member(), book)
        db.session.commit()
        book_id = book.id

    def receive(meet, quantity: int) -> None:
        with pg_app.app_context():
            meet()
            receive_stock(book_id, quantity)
            time.sleep(HOLD_SECONDS)  # keep the transaction open: the other must wait
            db.session.commit()
            db.session.remove()

    errors = run_at_once(receive, [(3,), (4,)], join_timeout=30)

    assert errors == []
    with pg_app.app_context():
        mails = db.session.scalars(sa.select(OutboxMail.to_email)).all()
        assert len(mails) == 5 and len(set(mails)) == 5
        assert db.session.scalar(sa.select(sa.func.count(StockReceipt.id))) == 2
        statuses = set(db.session.scalars(sa.select(Demand.status)))
        assert statuses == {DemandStatus.NOTIFIED}
        held = db.session.scalar(sa.select(sa.func.sum(Hold.quantity)))
        assert held == 5
        assert db.session.get(Book, book_id).stock_on_hand == 2  # 7 arrived, 5 held


def test_a_fan_out_to_many_readers_writes_every_row_on_postgresql(pg_app):
    with pg_app.app_context():
        book = make_book(stock_on_hand=0)
        readers = [make_member() for _ in range(300)]
        for member in readers:
            make_demand(member, book)
        db.session.commit()

        result = receive_stock(book.id, 1000)
        db.session.commit()

        assert result.notified == 300 and result.mails == 300
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 300
        assert db.session.get(Book, book.id).stock_on_hand == 700
        # written with COPY: every typed column reads back as the ORM wrote it
        mail = db.session.scalar(sa.select(OutboxMail).where(
            OutboxMail.member_id == readers[7].id))
        assert mail.status == MailStatus.PENDING and mail.attempts == 0
        assert mail.headers["List-Unsubscribe"].startswith("<http://localhost/demand/unsub")
        assert mail.next_attempt_at.tzinfo is not None and mail.next_attempt_at <= utcnow()
        assert readers[7].name in mail.body_text
        hold = db.session.scalar(sa.select(Hold).join(Demand).where(
            Demand.member_id == readers[7].id))
        assert hold.status == HoldStatus.ACTIVE and hold.remaining == 1
        assert hold.expires_at > utcnow()
        assert db.session.scalar(sa.select(sa.func.count()).where(
            Demand.book_id == book.id, Demand.status == DemandStatus.NOTIFIED)) == 300



def test_lapsed_holds_pass_their_copies_on_on_postgresql(pg_app):
    from datetime import timedelta

    from app.demand import holds

    with pg_app.app_context():
        book = make_book(stock_on_hand=0)
        first = [make_demand(make_member(), book, created_at=utcnow() - timedelta(days=1))
                 for _ in range(3)]
        db.session.commit()
        receive_stock(book.id, 3)
        db.session.commit()
        later = [make_demand(make_member(), book) for _ in range(2)]
        db.session.commit()

        assert holds.expire_holds(now=utcnow() + timedelta(hours=49)) == 3
        db.session.commit()

        statuses = dict(db.session.execute(sa.select(Demand.id, Demand.status)).all())
        assert [statuses[d.id] for d in first] == [DemandStatus.EXPIRED] * 3
        assert [statuses[d.id] for d in later] == [DemandStatus.NOTIFIED] * 2
        assert db.session.get(Book, book.id).stock_on_hand == 1
        db.session.remove()


def test_opted_out_readers_are_skipped_and_an_untold_hold_passes_on_on_postgresql(pg_app):
    from app.demand import lists as demand_service
    from app.demand import reports

    with pg_app.app_context():
        book = make_book(stock_on_hand=0)
        quiet, leaves, keen = (make_member(stock_alerts_opt_in=False), make_member(),
                               make_member())
        for member in (quiet, leaves, keen):
            make_demand(member, book)
        db.session.commit()

        result = receive_stock(book.id, 1)
        db.session.commit()
        assert result.notified == 1  # `leaves`: the quiet reader was skipped
        demand_service.set_preferences(leaves, stock_alerts=False, news=False)
        db.session.commit()

        told = db.session.execute(
            sa.select(Demand.member_id).where(Demand.status == DemandStatus.NOTIFIED)).all()
        assert told == [(keen.id,)]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Hold).where(
            Hold.status == HoldStatus.ACTIVE)) == 1
        assert reports.conversion()[0].notified == 1
