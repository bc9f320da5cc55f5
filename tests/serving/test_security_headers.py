"""Every response carries the security headers (issue 17, item 6): the pages Flask renders,
the pages the front door answers before Flask, static files, covers, error pages and CSV
exports; and every page of the account, cart, checkout, demand, feedback and admin areas says
`Cache-Control: private, no-store`."""

from __future__ import annotations

import pytest
from flask import request_started

from app.core.extensions import db
from tests.factories import make_admin, make_member
from tests.serving.test_page_cache import log_in

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
CSP_DIRECTIVES = {"default-src 'self'", "script-src 'self'", "style-src 'self'",
                  "img-src 'self'", "object-src 'none'", "base-uri 'self'",
                  "form-action 'self'", "frame-ancestors 'none'"}


def assert_security_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.getlist(name) == [value], name
    csp = response.headers.getlist("Content-Security-Policy")
    assert len(csp) == 1
    assert {d.strip() for d in csp[0].split(";")} >= CSP_DIRECTIVES
    assert "unsafe-inline" not in csp[0] and "unsafe-eval" not in csp[0]
    assert "camera=()" in response.headers["Permissions-Policy"]


def assert_private(response) -> None:
    assert response.headers.getlist("Cache-Control") == ["private, no-store"]


@pytest.fixture
def members(app, shelf):
    with app.app_context():
        make_admin(email="boss@example.test")
        db.session.commit()
    return shelf


@pytest.mark.parametrize("path", ["/", "/category/fiction", "/search?q=tale", "/book/{book}",
                                  "/covers/{book}.svg", "/static/css/site.css",
                                  "/static/img/logo.svg", "/no-such-page", "/book/999999",
                                  "/health"])
def test_public_responses_carry_the_security_headers_and_stay_cacheable(client, shelf, path):
    response = client.get(path.format(book=shelf["book"]))

    assert response.status_code in (200, 404)
    assert_security_headers(response)
    assert "private" not in response.headers.get("Cache-Control", "")


def test_a_page_the_front_door_answers_before_flask_carries_them(app, shelf):
    reached: list[str] = []
    request_started.connect(lambda sender, **extra: reached.append("flask"), app, weak=False)
    app.test_client().get("/category/fiction")  # through Flask: now in the page cache

    response = app.test_client().get("/category/fiction")

    assert reached == ["flask"]  # the second visitor was answered by the front door
    assert response.status_code == 200
    assert_security_headers(response)


def test_a_fingerprinted_static_file_keeps_its_long_cache_and_gets_the_headers(app, client):
    with app.test_request_context():
        from app.serving.assets import static_url
        url = static_url("css/site.css")

    response = client.get(url)

    assert "immutable" in response.headers["Cache-Control"]
    assert_security_headers(response)


@pytest.mark.parametrize("app_config", [{"PROPAGATE_EXCEPTIONS": False}])
def test_an_internal_error_page_carries_them(app, client):
    @app.get("/test-broken")
    def broken():
        raise RuntimeError("boom")

    response = client.get("/test-broken")

    assert response.status_code == 500
    assert_security_headers(response)


def test_a_view_that_sets_its_own_referrer_policy_keeps_it(client):
    response = client.get("/account/reset/not-a-token")

    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert_private(response)


PRIVATE_BLUEPRINTS = ("account.", "admin.", "cart.", "demand.", "feedback.")


def _private_get_paths(app) -> list[str]:
    """Every GET page of the private blueprints that takes no argument."""
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if rule.endpoint.startswith(PRIVATE_BLUEPRINTS) and "GET" in rule.methods
                   and not rule.arguments})


def test_every_private_page_of_a_visitor_is_private_and_carries_the_headers(app, client,
                                                                           members):
    paths = _private_get_paths(app)
    assert len(paths) > 40  # the whole admin too: it redirects a visitor to the log-in

    for path in paths:
        response = client.get(path)
        assert response.status_code < 500, path
        assert_private(response)
        assert_security_headers(response)


def test_every_private_page_of_the_admin_is_private_and_carries_the_headers(app, client,
                                                                           members):
    log_in(client, "boss@example.test")

    for path in _private_get_paths(app):
        response = client.get(path)
        response.close()  # as a server does after sending it (a CSV streams after its commit)
        assert response.status_code < 500, path
        assert_private(response)
        assert_security_headers(response)


def test_a_members_posts_and_a_404_under_the_admin_are_private_too(app, client, members):
    with app.app_context():
        make_member(email="reader2@example.test")
        db.session.commit()
    log_in(client, "reader2@example.test")

    added = client.post("/cart/add", data={"book_id": members["book"], "quantity": 1})
    missing = client.get("/admin/no-such-page")
    order = client.get("/orders/999999")

    assert added.status_code == 302
    for response in (added, missing, order):
        assert_private(response)
        assert_security_headers(response)
