"""The API on PostgreSQL: two calls with one Idempotency-Key at the same moment record one
receipt and both get its answer; and the Schemathesis run (fewer examples) finds no server
error there either (PostgreSQL's stricter types)."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db
from app.demand.models import StockReceipt
from tests.api import test_openapi_schemathesis as st
from tests.api.conftest import bearer, make_token
from tests.factories import make_book, make_demand, make_member, make_staff
from tests.helpers import run_at_once


def test_two_calls_with_one_key_at_once_record_one_receipt(pg_app):
    with pg_app.app_context():
        book = make_book(stock_on_hand=0)
        make_demand(make_member(), book)
        secret = make_token(make_staff(), ["stock:write"])
        db.session.commit()
        book_id = book.id
    answers = []

    def call(meet):
        client = pg_app.test_client()
        meet()
        answers.append(client.post(
            "/api/v1/stock/receipts", json={"book": str(book_id), "quantity": 2},
            headers={**bearer(secret), "Idempotency-Key": "same-moment"}))

    assert run_at_once(call, [(), ()]) == []

    assert sorted(a.status_code for a in answers) == [200, 201]
    assert answers[0].json == answers[1].json
    with pg_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StockReceipt.id))) == 1


def test_schemathesis_on_postgresql_finds_no_server_error(pg_app, monkeypatch):
    monkeypatch.setattr(st, "EXAMPLES", 2)

    st.test_schemathesis_finds_no_server_error_no_schema_break_and_no_scope_escape(pg_app)
