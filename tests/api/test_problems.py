"""Every error under /api/v1 is RFC 9457 problem details (application/problem+json), and
reads are cacheable by ETag."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.extensions import db
from tests.api.conftest import bearer
from tests.factories import make_book, make_category, make_placed_order

PROBLEM = "application/problem+json"


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["type"] == "about:blank" and body["title"]
    assert body["instance"] == response.request.path
    return body


def test_an_unknown_path_is_a_404_problem_and_the_shop_keeps_its_html_pages(client):
    _is_problem(client.get("/api/v1/nothing-here"), 404)

    page = client.get("/nothing-here")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_the_api_root_without_its_slash_is_a_problem_too(client):
    _is_problem(client.get("/api/v1"), 404)
    _is_problem(client.get("/api/v1/"), 404)
    assert client.get("/api/v1x").mimetype == "text/html"  # not the API's


def test_an_unknown_query_parameter_is_a_422_problem_naming_it(client, people):
    body = _is_problem(client.get("/api/v1/books?catgory=sf"), 422)
    assert "catgory" in body["errors"]
    body = _is_problem(client.get("/api/v1/customers?foo=1",
                                  headers=bearer(people["customers_read"])), 422)
    assert "foo" in body["errors"]
    assert client.get("/api/v1/books?page=1&per_page=5&in_stock=true").status_code == 200


def test_a_method_the_route_refuses_is_a_405_problem_with_allow(client):
    response = client.delete("/api/v1/books")

    _is_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_missing_record_is_a_404_problem(client):
    body = _is_problem(client.get("/api/v1/books/424242"), 404)

    assert body["detail"]


def test_bad_input_is_a_422_problem_naming_each_field(client, people):
    response = client.post("/api/v1/me/demands", headers=bearer(people["rosa"]),
                           json={"book_id": "many", "quantity": 0, "extra": 1})

    body = _is_problem(response, 422)
    assert set(body["errors"]) == {"book_id", "quantity", "extra"}
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_bad_query_arguments_are_a_422_problem(client):
    body = _is_problem(client.get("/api/v1/books?per_page=1000&sort=cheapest"), 422)

    assert set(body["errors"]) == {"per_page", "sort"}


def test_a_refused_rule_is_a_409_problem_and_changes_nothing(app, client, people):
    with app.app_context():
        order = make_placed_order()
        db.session.commit()
        order_id = order.id

    response = client.post(f"/api/v1/orders/{order_id}/status", json={"status": "delivered"},
                           headers=bearer(people["orders_write"]))

    body = _is_problem(response, 409)
    assert "cannot become" in body["detail"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action.in_(["order.status", "api.call"]))) == 0


def test_a_failure_of_the_shop_is_a_500_problem_that_says_nothing_more(app, client,
                                                                         monkeypatch):
    from app.catalog import browse

    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(browse, "categories_with_counts", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    body = _is_problem(client.get("/api/v1/categories"), 500)

    assert "secret" not in str(body)


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "API_RATE_LIMIT": "3 per minute"}])
def test_each_token_has_its_own_rate_limit_and_a_429_problem(client, people):
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(people["rosa"])).status_code == 200

    refused = client.get("/api/v1/me", headers=bearer(people["rosa"]))

    _is_problem(refused, 429)
    assert refused.headers.get("Retry-After")
    assert client.get("/api/v1/me", headers=bearer(people["otto"])).status_code == 200


def test_a_read_has_an_etag_and_answers_304_when_unchanged(app, client):
    with app.app_context():
        make_book(title="Dune", category=make_category(slug="sf", name="SF"))
        db.session.commit()

    first = client.get("/api/v1/categories")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/categories", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag  # a 304 names the ETag it matched
    with app.app_context():
        make_book(title="Emma", category=make_category(slug="classics", name="Classics"))
        db.session.commit()
    changed = client.get("/api/v1/categories", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_the_api_takes_no_csrf_token_and_no_cookie(client, people, app):
    with app.app_context():
        book = make_book(stock_on_hand=4)
        db.session.commit()
        book_id = book.id
    app.config["WTF_CSRF_ENABLED"] = True

    response = client.post("/api/v1/me/cart/items", json={"book_id": book_id, "quantity": 2},
                           headers=bearer(people["rosa"]))

    assert response.status_code == 200
    assert response.json["count"] == 2
    assert "Set-Cookie" not in response.headers
