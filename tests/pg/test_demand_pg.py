"""Demand on PostgreSQL: concurrent stock receipts for one book never tell a reader twice."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from app.extensions import db
from app.models import Book, Demand, DemandStatus, Hold, OutboxMail, StockReceipt
from app.services.stock import receive_stock
from tests.factories import make_book, make_demand, make_member

HOLD_SECONDS = 0.3


def test_two_receipts_for_the_same_book_at_once_do_not_double_notify(pg_app):
    with pg_app.app_context():
        book = make_book(stock_on_hand=0)
        for _ in range(5):
            make_demand(make_member(), book)
        db.session.commit()
        book_id = book.id

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def receive(quantity: int) -> None:
        try:
            with pg_app.app_context():
                barrier.wait(timeout=10)
                receive_stock(book_id, quantity)
                time.sleep(HOLD_SECONDS)  # keep the transaction open: the other must wait
                db.session.commit()
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=receive, args=(q,)) for q in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

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
