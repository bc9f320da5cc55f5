"""Behind a proxy (TRUST_PROXY_HOPS > 0) the script root comes from the request's
X-Forwarded-Prefix header (werkzeug's ProxyFix), and every link in a page starts with it. A page,
a kept fragment or the front door's index entry made under one prefix is never served under
another: one request cannot make every visitor's links point elsewhere."""

from __future__ import annotations

import pytest
from flask import request_started

from app.serving.page_cache import forget_pages

EVIL = {"X-Forwarded-Prefix": "//evil.example"}
BEHIND_PROXY = pytest.mark.parametrize("app_config", [{"TRUST_PROXY_HOPS": 1}])
PATHS = ["/", "/category/fiction", "/search?q=tale", "/book/{book}"]


@pytest.fixture
def reached_flask(app):
    paths: list[str] = []

    def started(sender, **extra):
        paths.append("flask")

    request_started.connect(started, app)
    yield paths
    request_started.disconnect(started, app)


@BEHIND_PROXY
@pytest.mark.parametrize("path", PATHS)
def test_a_page_asked_for_under_another_prefix_is_not_served_to_others(app, shelf, path):
    path = path.format(book=shelf["book"])
    evil = app.test_client().get(path, headers=EVIL).get_data(True)
    assert 'href="//evil.example/' in evil  # the header does set the script root

    page = app.test_client().get(path)

    assert page.status_code == 200
    assert "//evil.example" not in page.get_data(True)
    assert 'href="/' in page.get_data(True)


@BEHIND_PROXY
@pytest.mark.parametrize("path", PATHS)
def test_the_front_door_never_serves_a_page_made_under_another_prefix(app, shelf, reached_flask,
                                                                      path):
    path = path.format(book=shelf["book"])
    app.test_client().get(path, headers=EVIL)
    app.test_client().get(path)  # through Flask: its own page, under its own root
    reached_flask.clear()

    page = app.test_client().get(path).get_data(True)  # from the front door

    assert reached_flask == []
    assert "//evil.example" not in page and 'href="/' in page


@BEHIND_PROXY
def test_a_proxy_that_always_sends_its_prefix_is_served_by_the_front_door(app, shelf,
                                                                         reached_flask):
    mounted = {"X-Forwarded-Prefix": "/shop"}
    app.test_client().get("/category/fiction", headers=mounted)
    reached_flask.clear()

    page = app.test_client().get("/category/fiction", headers=mounted).get_data(True)
    plain = app.test_client().get("/category/fiction").get_data(True)

    assert reached_flask == ["flask"]  # the mounted page from the front door; the plain from Flask
    assert 'href="/shop/book/' in page
    assert 'href="/shop/' not in plain


@BEHIND_PROXY
def test_the_home_shelves_are_kept_per_prefix(app, shelf):
    app.test_client().get("/", headers=EVIL)
    with app.app_context():
        forget_pages()  # the whole page again, its shelves from their own cache

    page = app.test_client().get("/").get_data(True)

    assert "Cached tale" in page
    assert "//evil.example" not in page


@BEHIND_PROXY
def test_url_stores_stay_small_however_many_prefixes_are_sent(app, shelf):
    client = app.test_client()
    for n in range(300):
        page = client.get("/category/fiction", headers={"X-Forwarded-Prefix": f"/p{n}"})
        assert page.status_code == 200

    assert f'href="/p299/book/{shelf["book"]}"' in page.get_data(True)
    assert '/p299/static/' in page.get_data(True)
    assert 0 < len(app.extensions["bookstation.static_urls"]) <= 128  # 4 files a page
    assert 0 < len(app.extensions["bookstation.fast_urls"]) <= 16  # 2 endpoints a prefix
