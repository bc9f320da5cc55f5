"""Redirect targets built from input: a line break or another control character in `next=`
is not followed (it would split the Location header, and a browser drops tabs and line breaks
from a URL, so "/\t/evil.example" would become "//evil.example"); the page answers with its
default target instead of a 500 (issue 17, item 8)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.core.security import safe_next_url
from app.models import OutboxMail
from tests.factories import DEFAULT_PASSWORD, make_book, make_member

HOSTILE = ["/a\nb", "/a\r\nSet-Cookie: x=1", "/a\rb", "/\t/evil.example", "/a\x00b", "/a\x7fb",
           "/a\x85b", "/a\x1bb"]


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_url_refuses_control_characters(target):
    assert safe_next_url(target) is None


def test_safe_next_url_still_follows_ordinary_paths():
    assert safe_next_url("/search?q=dune%0Aworm&page=2") == "/search?q=dune%0Aworm&page=2"
    assert safe_next_url("/book/3") == "/book/3"


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_ignores_a_next_with_a_control_character(client, target):
    response = client.get("/language/en", query_string={"next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE)
def test_log_in_ignores_a_next_with_a_control_character(app, client, target):
    with app.app_context():
        make_member(email="nl@example.test")
        db.session.commit()

    page = client.get("/account/login", query_string={"next": target})
    response = client.post("/account/login", query_string={"next": target},
                           data={"email": "nl@example.test", "password": DEFAULT_PASSWORD,
                                 "next": target})

    assert page.status_code == 200
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


@pytest.mark.parametrize("target", HOSTILE)
def test_register_ignores_a_next_with_a_control_character(app, client, target):
    """Joining answers with the check-your-inbox page (issue 17); the hostile next is neither
    carried into the mailed link nor followed after confirming."""
    page = client.get("/account/register", query_string={"next": target})
    response = client.post("/account/register", query_string={"next": target},
                           data={"email": "new@example.test", "name": "New Reader",
                                 "password": "a long enough pass 1",
                                 "confirm": "a long enough pass 1", "next": target})
    with app.app_context():
        body = db.session.scalar(sa.select(OutboxMail.body_text)
                                 .where(OutboxMail.kind == "confirm_email"))
    link = urlsplit(re.search(r"http://localhost/account/confirm/\S+", body).group(0))
    confirm_page = client.get(link.path, query_string={"next": target})
    confirmed = client.post(link.path, query_string={"next": target},
                            data={"password": "a long enough pass 1"})

    assert (page.status_code, response.status_code, confirm_page.status_code) == (200, 200, 200)
    assert link.query == ""
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/account/"


@pytest.mark.parametrize("target", HOSTILE)
def test_adding_to_the_cart_ignores_a_next_with_a_control_character(app, client, target):
    with app.app_context():
        book_id = make_book(stock_on_hand=3).id
        db.session.commit()

    response = client.post("/cart/add", data={"book_id": book_id, "next": target})

    assert response.status_code == 302
    assert response.headers["Location"] == "/cart"
