"""Every /admin route refuses non-staff: found by walking the URL map, so new pages are covered.

Anonymous visitors are sent to log in, logged-in members get 403, and staff see each page
(200, or 404 for an id that does not exist), never a server error.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from werkzeug.routing import IntegerConverter, Rule

from app import create_app
from app.extensions import db
from app.models import MailStatus, OutboxMail
from config import TestConfig
from tests.factories import (
    DEFAULT_PASSWORD,
    make_book,
    make_category,
    make_member,
    make_placed_order,
    make_staff,
)

METHODS = ("GET", "POST")


def _admin_rules() -> list[Rule]:
    """The admin routes of a freshly built app (no database needed to read the URL map)."""
    app = create_app(TestConfig)
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")),
        key=lambda rule: rule.rule,
    )


ADMIN_RULES = _admin_rules()


def url_for_rule(rule: Rule) -> str:
    """The rule's path with plausible values: 1 for numbers, "x" for text."""
    values = {
        name: 1 if isinstance(converter, IntegerConverter) else "x"
        for name, converter in rule._converters.items()
    }
    return rule.build(values)[1]


CASES = [
    pytest.param(rule, method, id=f"{method} {rule.rule}")
    for rule in ADMIN_RULES
    for method in METHODS
]


@pytest.fixture
def app_config(tmp_path):
    return {"MAIL_CATCHER_DIR": str(tmp_path / "mailbox")}


@pytest.fixture
def member_client(app, client, auth):
    with app.app_context():
        make_member(email="shopper@example.test")
        db.session.commit()
    auth.login("shopper@example.test", DEFAULT_PASSWORD)
    return client


@pytest.fixture
def staff_client(app, client, auth):
    with app.app_context():
        make_staff(email="clerk@example.test")
        db.session.commit()
    response = auth.login("clerk@example.test", DEFAULT_PASSWORD)
    assert response.status_code == 302
    return client


@pytest.fixture
def one_of_everything(app):
    """A book, a category, an order and a mail with id 1, so id pages render for real."""
    with app.app_context():
        category = make_category(slug="fiction", name="Fiction")
        book = make_book(title="Dune", category_id=category.id, price=Decimal("9.99"))
        make_placed_order(lines=[(book, 1)])
        db.session.add(OutboxMail(kind="test", to_email="a@example.test", subject="Hello",
                                  body_text="Hi", message_id="<1@test>",
                                  status=MailStatus.FAILED))
        db.session.commit()


def test_the_walk_finds_the_admin_pages():
    endpoints = {rule.endpoint for rule in ADMIN_RULES}

    assert {"admin.dashboard", "admin.books", "admin.book_new", "admin.book_edit",
            "admin.categories", "admin.orders", "admin.order_detail", "admin.order_status",
            "admin.mail_log", "admin.mail_detail", "admin.mail_resend",
            "admin.mail_catcher", "admin.mail_caught"} <= endpoints


@pytest.mark.parametrize(("rule", "method"), CASES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, rule, method):
    response = client.open(url_for_rule(rule), method=method)

    if method in rule.methods:
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/account/login"
    else:
        assert response.status_code == 405


@pytest.mark.parametrize(("rule", "method"), CASES)
def test_a_logged_in_member_is_refused_with_403(member_client, rule, method):
    response = member_client.open(url_for_rule(rule), method=method)

    assert response.status_code == (403 if method in rule.methods else 405)


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES if "GET" in r.methods]
)
def test_staff_see_every_admin_page_without_a_server_error(staff_client, rule):
    response = staff_client.get(url_for_rule(rule))

    assert response.status_code in (200, 404)
    if response.status_code == 200 and response.mimetype == "text/html":  # not CSV exports
        assert b'class="admin-nav"' in response.data


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES if "GET" in r.methods]
)
def test_staff_see_every_admin_page_for_existing_records(staff_client, one_of_everything,
                                                         rule):
    response = staff_client.get(url_for_rule(rule))

    assert response.status_code in (200, 404)
    if "<int" in rule.rule:
        assert response.status_code == 200


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.rule) for r in ADMIN_RULES if "POST" in r.methods]
)
def test_an_empty_post_from_staff_is_refused_or_handled_never_a_server_error(
    staff_client, one_of_everything, rule
):
    response = staff_client.post(url_for_rule(rule), data={})

    assert response.status_code < 500


def test_the_sidebar_marks_the_current_section(staff_client, one_of_everything):
    response = staff_client.get("/admin/books/1/edit")

    page = response.get_data(as_text=True)
    assert 'href="/admin/books" aria-current="true"' in page
    assert 'href="/admin/orders" aria-current' not in page


def test_the_sidebar_marks_the_current_page(staff_client):
    page = staff_client.get("/admin/orders").get_data(as_text=True)

    assert 'href="/admin/orders" aria-current="page"' in page


@pytest.mark.parametrize("path", ["/admin/books/99999999999999999999/edit",
                                  "/admin/orders/-1", "/admin/mail/0x10"])
def test_absurd_ids_are_not_found(staff_client, path):
    assert staff_client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["page=0", "page=-3", "page=abc",
                                   "page=99999999999999999999999", "page=500"])
def test_absurd_page_numbers_are_not_found(staff_client, query):
    assert staff_client.get(f"/admin/books?{query}").status_code == 404
