"""The OpenAPI document is valid, and the API holds to it: a property-based run of
Schemathesis against the app itself (WSGI, no server), over every operation, with a token of
each scope and with none, finds no server error, no response outside its documented status,
content type, headers and schema, and no scope escape (a call answered without the scope the
document says it needs). Bounded: a few examples per operation and token (SCHEMATHESIS_EXAMPLES)."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.extensions import db
from tests.api.conftest import bearer, make_token
from tests.factories import (
    make_book,
    make_category,
    make_demand,
    make_member,
    make_placed_order,
    make_staff,
)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def test_the_openapi_document_is_valid(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    validate(response.json)
    assert response.json["openapi"].startswith("3.")
    assert "bearerAuth" in response.json["components"]["securitySchemes"]


def test_the_browsable_docs_are_served_from_the_shop_itself(client):
    page = client.get("/api/v1/docs")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html  # no inline script: the CSP stands
    assert "https://" not in html and "http://" not in html  # no CDN
    for src in ("vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css",
                "js/api-docs.js"):
        assert src in html
        assert client.get("/static/" + src).status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "img-src 'self' data:;" in policy
    assert "img-src 'self';" in client.get("/api/v1/books").headers["Content-Security-Policy"]


def _shop(app) -> tuple[dict[str, tuple[str | None, frozenset[str]]], dict[str, int]]:
    """Some of everything, a token per scope (and none), and the ids of what exists."""
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        book = make_book(title="Dune", category=fiction, stock_on_hand=3)
        make_book(title="Emma", category=fiction, stock_on_hand=0)
        rosa = make_member(email="rosa.s@example.test")
        clerk = make_staff(email="clerk.s@example.test")
        order = make_placed_order(member=rosa, lines=[(book, 1)])
        demand = make_demand(member=rosa)
        tokens = {"anonymous": (None, frozenset())}
        for scope in ("catalog:read", "me"):
            tokens[scope] = (make_token(rosa, [scope]), frozenset({scope}))
        for scope in ("orders:read", "orders:write", "stock:write", "customers:read",
                      "customers:write"):
            tokens[scope] = (make_token(clerk, [scope]), frozenset({scope}))
        db.session.commit()
        ids = {"member_id": rosa.id, "order_id": order.id, "book_id": book.id,
               "demand_id": demand.id, "tag_id": 1}
        return tokens, ids


def _explore(operation, headers: dict, allowed: bool, who: str, escapes: list,
             path_parameters: dict | None = None) -> None:
    """Up to EXAMPLES generated calls of one operation with one token (on records that exist
    when `path_parameters` names them)."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(path_parameters=path_parameters))
    def run(case):
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        if not allowed and response.status_code < 400:
            escapes.append((operation.label, who, response.status_code))

    run()


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def test_schemathesis_finds_no_server_error_no_schema_break_and_no_scope_escape(app):
    tokens, ids = _shop(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    escapes: list = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        needs = frozenset(operation.definition.raw.get("x-scopes") or ())
        for who, (secret, scopes) in tokens.items():
            # identity: the WSGI client does not undo Flask-Compress's encoding
            headers = {"Accept-Encoding": "identity", **(bearer(secret) if secret else {})}
            allowed = not needs or bool(needs & scopes)
            _explore(operation, headers, allowed, who, escapes)
            known = {name: ids[name] for name in _path_names(operation.path) if name in ids}
            if known:  # and on records that exist
                _explore(operation, headers, allowed, who, escapes, path_parameters=known)

    assert escapes == []
