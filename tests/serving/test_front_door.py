"""A visitor's request for a cached catalog page is answered before Flask
(app/serving/front_door.py),
with exactly what Flask would have answered: the same page, language, header, compression,
and a CSRF token and session cookie that work. Anyone the page cache would not serve, and any
page it no longer holds, goes through Flask."""

from __future__ import annotations

import gzip
import re

import pytest
from flask import request_started

from app.serving.front_door import ENVIRON_KEY
from tests.serving.test_page_cache import CSRF_ON, log_in, token_in

TOKEN = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]+(")')


@pytest.fixture
def reached_flask(app):
    """The paths of the requests that reached Flask (Flask's own request_started signal)."""
    paths: list[str] = []

    def started(sender, **extra):
        from flask import request
        paths.append(request.full_path.rstrip("?"))

    request_started.connect(started, app)
    yield paths
    request_started.disconnect(started, app)


def without_tokens(page: str) -> str:
    return TOKEN.sub(r"\1TOKEN\2", page)


@CSRF_ON
@pytest.mark.parametrize("path", ["/", "/category/fiction", "/search?q=tale", "/book/{book}"])
def test_a_visitor_gets_from_the_front_door_the_page_flask_rendered(app, shelf, reached_flask,
                                                                    path):
    path = path.format(book=shelf["book"])
    from_flask = app.test_client().get(path)
    from_door = app.test_client().get(path)

    assert reached_flask == [path]  # the second visitor never reached Flask
    assert from_door.status_code == 200
    assert without_tokens(from_door.get_data(True)) == without_tokens(from_flask.get_data(True))
    assert from_door.headers["Content-Type"] == from_flask.headers["Content-Type"]
    assert set(from_door.vary) == set(from_flask.vary) >= {"Cookie", "Accept-Language"}
    assert "\x1e" not in from_door.get_data(True)


@CSRF_ON
def test_the_front_doors_token_and_session_cookie_add_to_the_cart(app, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    app.test_client().get(path)
    visitor = app.test_client()

    page = visitor.get(path)
    assert reached_flask == [path]
    assert "session=" in page.headers["Set-Cookie"]
    assert "HttpOnly" in page.headers["Set-Cookie"]

    added = visitor.post("/cart/add", data={"csrf_token": token_in(page.get_data(True)),
                                            "book_id": shelf["book"], "quantity": 1})
    assert added.status_code == 302
    visitor.get("/cart")  # reads the "in your cart" message
    assert re.search(r'data-testid="cart-count">\s*1\s*<', visitor.get("/").get_data(True))


@CSRF_ON
def test_a_returning_visitor_keeps_one_token_and_gets_no_new_cookie(app, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    visitor = app.test_client()
    first = visitor.get(path)  # through Flask: the session and its token are made here
    second = visitor.get(path)

    assert reached_flask == [path]
    assert "Set-Cookie" not in second.headers
    added = visitor.post("/cart/add", data={"csrf_token": token_in(second.get_data(True)),
                                            "book_id": shelf["book"], "quantity": 1})
    assert added.status_code == 302
    assert first.status_code == 200


@CSRF_ON
def test_a_member_always_goes_through_flask(app, shelf, reached_flask):
    app.test_client().get("/")
    member = app.test_client()
    log_in(member)
    reached_flask.clear()

    page = member.get("/").get_data(as_text=True)

    assert reached_flask == ["/"]
    assert "Log out" in page


def test_a_remembered_member_without_a_session_goes_through_flask(app, shelf, reached_flask):
    app.test_client().get("/")
    member = app.test_client()
    member.set_cookie("remember_token", "anything")
    reached_flask.clear()

    member.get("/")

    assert reached_flask == ["/"]


def test_a_visitor_with_a_message_waiting_goes_through_flask(app, client, shelf, reached_flask):
    path = f"/book/{shelf['book']}"
    app.test_client().get(path)
    client.post("/cart/add", data={"book_id": shelf["book"], "quantity": 1})
    reached_flask.clear()

    assert "is in your cart" in client.get(path).get_data(True)
    assert reached_flask == [path]
    client.get(path)  # the message was read: now the front door answers
    assert reached_flask == [path]


def test_each_language_is_its_own_page(app, shelf, reached_flask):
    app.test_client().get("/")
    chinese = app.test_client()
    chinese.set_cookie("lang", "zh_Hans")

    first = chinese.get("/").get_data(as_text=True)  # not yet rendered in Chinese: Flask
    second = chinese.get("/").get_data(as_text=True)
    by_header = app.test_client().get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    english = app.test_client().get("/", headers={"Accept-Language": "en-GB,en;q=0.8"})

    assert reached_flask == ["/", "/"]
    assert 'lang="zh-Hans"' in first and 'lang="zh-Hans"' in second
    assert 'lang="zh-Hans"' in by_header.get_data(True)
    assert 'lang="en"' in english.get_data(True)


def test_a_page_the_shop_forgot_is_rendered_again_by_flask(app, shelf, reached_flask):
    from app.catalog.web.views import forget_home_shelves

    app.test_client().get("/")
    with app.test_request_context():
        forget_home_shelves()

    app.test_client().get("/")

    assert reached_flask == ["/", "/"]


def test_an_expired_url_goes_back_through_flask(app, shelf, reached_flask):
    app.test_client().get("/")
    door = app.extensions["bookstation.front_door"]
    for languages in door.index.values():
        for locale, (key, _expires, root) in list(languages.items()):
            languages[locale] = (key, 0.0, root)

    app.test_client().get("/")

    assert reached_flask == ["/", "/"]


def test_the_front_door_compresses_as_flask_compress_does(app, shelf, reached_flask):
    app.test_client().get("/")
    plain = app.test_client().get("/").get_data(as_text=True)

    zipped = app.test_client().get("/", headers={"Accept-Encoding": "gzip"})

    assert reached_flask == ["/"]
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()).decode() == plain


def test_only_a_get_for_a_cached_url_is_answered(app, shelf, reached_flask):
    app.test_client().get("/")
    client = app.test_client()

    client.head("/")
    client.get("/?page=1")
    client.get("/category/fiction")

    assert reached_flask == ["/", "/", "/?page=1", "/category/fiction"]


@pytest.mark.parametrize("app_config", [{"FRONT_DOOR": False}])
def test_the_front_door_can_be_turned_off(app, shelf, reached_flask):
    app.test_client().get("/")
    response = app.test_client().get("/")

    assert reached_flask == ["/", "/"]
    assert "bookstation.front_door" not in app.extensions
    assert ENVIRON_KEY not in response.request.environ
