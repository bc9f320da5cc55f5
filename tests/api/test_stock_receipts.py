"""Stock receipts through the API: recorded as the admin form records them (holds, arrival
mail over real SMTP, the audit entry under the token's owner), and idempotent by key."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.demand.models import StockReceipt
from app.mail.sender import deliver_due
from app.models import Book
from tests.api.conftest import bearer
from tests.factories import make_book, make_demand, make_member

PROBLEM = "application/problem+json"


def _waiting_book(app, readers: int = 2) -> tuple[int, list[str]]:
    with app.app_context():
        book = make_book(title="Dune", isbn13="9780441172719", stock_on_hand=0)
        members = [make_member() for _ in range(readers)]
        for member in members:
            make_demand(member, book)
        db.session.commit()
        return book.id, [m.email for m in members]


def _receive(client, token, key, **body):
    return client.post("/api/v1/stock/receipts", json={"quantity": 3, **body},
                       headers={**bearer(token), "Idempotency-Key": key})


def test_a_receipt_mails_waiting_readers_once_and_a_retry_records_nothing(
        app, client, people, smtp_inbox):
    book_id, readers = _waiting_book(app)

    first = _receive(client, people["stock"], "delivery-77", book="978-0-441-17271-9",
                     supplier="Wholesale Ltd", reference="DN-77")
    again = _receive(client, people["stock"], "delivery-77", book="978-0-441-17271-9",
                     supplier="Wholesale Ltd", reference="DN-77")

    assert first.status_code == 201
    assert (first.json["held"], first.json["notified"], first.json["book_id"]) == (
        2, 2, book_id)
    assert again.status_code == 200
    assert again.json == first.json
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StockReceipt.id))) == 1
        assert db.session.get(Book, book_id).stock_on_hand == 1  # 3 in, 2 held
        report = deliver_due()
        assert len(report.sent) == 2
        assert deliver_due().claimed == 0
        entries = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action.in_(["stock.receive", "api.call"]))).all()
        assert sorted(e.action for e in entries) == ["api.call", "stock.receive"]
        assert {e.actor_id for e in entries} == {people["ids"]["clerk"]}
    assert sorted(rcpt[0] for _, rcpt, _ in smtp_inbox.messages) == sorted(readers)


def test_the_same_key_for_another_receipt_is_refused(app, client, people):
    book_id, _ = _waiting_book(app, readers=0)
    assert _receive(client, people["stock"], "k-1", book=str(book_id)).status_code == 201

    response = _receive(client, people["stock"], "k-1", book=str(book_id), quantity=9)

    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert "Idempotency-Key" in response.json["errors"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StockReceipt.id))) == 1


def test_a_refused_receipt_keeps_nothing_so_the_key_can_be_used_again(app, client, people):
    book_id, _ = _waiting_book(app, readers=0)

    missing = _receive(client, people["stock"], "k-2", book="999999")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert _receive(client, people["stock"], "k-2", book=str(book_id)).status_code == 201


def test_a_receipt_needs_the_key_and_sound_input(client, people):
    no_key = client.post("/api/v1/stock/receipts", json={"book": "1", "quantity": 1},
                         headers=bearer(people["stock"]))
    bad = _receive(client, people["stock"], "k-3", book="1", quantity=0)

    assert no_key.status_code == 422 and "Idempotency-Key" in no_key.json["errors"]
    assert bad.status_code == 422 and bad.mimetype == PROBLEM
    assert "quantity" in bad.json["errors"]


def test_a_receipt_needs_the_stock_scope(client, people):
    response = _receive(client, people["orders_write"], "k-4", book="1")

    assert response.status_code == 403
