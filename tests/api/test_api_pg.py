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


def test_a_control_character_in_any_string_input_is_a_422_never_a_500(pg_app):
    from tests.factories import make_admin, make_placed_order

    pg_app.config["PROPAGATE_EXCEPTIONS"] = False
    with pg_app.app_context():
        member = make_member()
        book = make_book(stock_on_hand=0)
        order = make_placed_order(member)
        secret = make_token(make_admin(), ["me", "orders:read", "orders:write", "stock:write",
                                           "customers:read", "customers:write"])
        db.session.commit()
        member_id, book_id, order_id = member.id, book.id, order.id
    nul = "a\x00b"
    queries = {
        "/api/v1/books": ["q", "category"],
        "/api/v1/orders": ["q"],
        "/api/v1/demand/books": ["q"],
        "/api/v1/customers": ["q", "tier"],
    }
    bodies = [
        ("/api/v1/stock/receipts", {"book": str(book_id), "quantity": 1}, ["book", "supplier",
                                                                             "reference", "note"]),
        (f"/api/v1/customers/{member_id}/notes", {"kind": "phone", "body": "x"}, ["body"]),
        (f"/api/v1/customers/{member_id}/tags", {"name": "x"}, ["name"]),
        ("/api/v1/me/demands", {"book_id": book_id}, ["note"]),
        (f"/api/v1/orders/{order_id}/status", {"status": "paid"}, ["note"]),
    ]
    client = pg_app.test_client()
    answers = []
    for path, names in queries.items():
        for name in names:
            response = client.get(path, query_string={name: nul}, headers=bearer(secret))
            answers.append((path, name, response.status_code, response.json))
    for number, (path, body, names) in enumerate(bodies):
        for name in names:
            response = client.post(path, json=body | {name: nul}, headers={
                **bearer(secret), "Idempotency-Key": f"nul-{number}-{name}"})
            answers.append((path, name, response.status_code, response.json))

    assert [a for a in answers if a[2] != 422] == []
    assert all("control characters" in a[3]["errors"][a[1]][0] for a in answers)
    # A note keeps its line breaks: only the invisible characters are refused.
    response = client.post(f"/api/v1/customers/{member_id}/notes", headers=bearer(secret),
                           json={"kind": "phone", "body": "Called.\r\n\tWill call back."})
    assert response.status_code == 201
