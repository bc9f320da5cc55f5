"""The catalog pages come from the shared page cache, with each visitor's own CSRF token and
header filled in (app/serving/page_cache.py). Nothing personal is ever served to someone else."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book
from tests import pages
from tests.helpers import counting_statements
from tests.pages import token_in

CSRF_ON = pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])


def log_in(client, email: str = "reader@example.test") -> None:
    pages.log_in(client, email)
    client.get("/")  # read the welcome message, so later pages have nothing flashed


@CSRF_ON
def test_a_cached_book_page_gives_every_visitor_their_own_working_token(app, shelf):
    first, second = app.test_client(), app.test_client()
    path = f"/book/{shelf['book']}"
    first_page = first.get(path).get_data(as_text=True)

    with counting_statements(app) as statements:
        second_page = second.get(path).get_data(as_text=True)

    assert statements == []  # served from the cache
    assert token_in(first_page) != token_in(second_page)
    assert "\x1e" not in second_page  # no marker is ever left in a page
    for client, page in ((first, first_page), (second, second_page)):
        response = client.post("/cart/add", data={
            "csrf_token": token_in(page), "book_id": shelf["book"], "quantity": 1})
        assert response.status_code == 302
    assert second.post("/cart/add", data={"csrf_token": token_in(first_page),
                                         "book_id": shelf["book"]}).status_code == 400


@CSRF_ON
def test_a_member_sees_their_own_header_on_a_page_a_visitor_cached(app, shelf):
    app.test_client().get("/category/fiction")  # a visitor fills the cache
    member = app.test_client()
    log_in(member)

    with counting_statements(app) as statements:
        page = member.get("/category/fiction").get_data(as_text=True)

    assert not [s for s in statements if "FROM book" in s]  # the listing came from the cache
    assert "Log out" in page and "Log in" not in page
    logout = member.post("/account/logout", data={"csrf_token": token_in(page)})
    assert logout.status_code == 302
    assert "Log in" in member.get("/category/fiction").get_data(as_text=True)


def test_each_visitor_sees_their_own_cart_count_on_a_cached_page(app, client, shelf):
    app.test_client().get("/")
    client.post("/cart/add", data={"book_id": shelf["book"], "quantity": 2})
    client.get("/cart")  # read the "in your cart" message

    page = client.get("/").get_data(as_text=True)

    assert re.search(r'data-testid="cart-count">\s*2\s*<', page)
    other = app.test_client().get("/").get_data(as_text=True)
    assert re.search(r'data-testid="cart-count">\s*0\s*<', other)


def test_a_member_gets_the_book_page_rendered_for_them(app, shelf):
    visitor = app.test_client()
    assert "You are on the list" not in visitor.get(f"/book/{shelf['out']}").get_data(True)
    member = app.test_client()
    log_in(member)

    page = member.get(f"/book/{shelf['out']}").get_data(as_text=True)

    assert "You are on the list for 1 copy" in page
    assert "You are on the list" not in visitor.get(f"/book/{shelf['out']}").get_data(True)


def test_a_members_own_book_page_is_never_kept_for_anyone_else(app, shelf):
    member = app.test_client()
    log_in(member)
    assert "You are on the list for 1 copy" in member.get(f"/book/{shelf['out']}").get_data(True)

    visitor = app.test_client().get(f"/book/{shelf['out']}")

    assert visitor.headers["X-Cache"] == "miss"  # the member's page was not kept
    assert "You are on the list" not in visitor.get_data(True)


def test_a_member_is_served_a_book_in_stock_from_the_page_a_visitor_cached(app, shelf):
    app.test_client().get(f"/book/{shelf['book']}")
    member = app.test_client()
    log_in(member)

    with counting_statements(app) as statements:
        response = member.get(f"/book/{shelf['book']}")

    assert response.headers["X-Cache"] == "hit"
    assert not [s for s in statements if "FROM book" in s]
    assert "Log out" in response.get_data(True)


def test_a_flashed_message_is_shown_to_its_visitor_only(app, client, shelf):
    app.test_client().get(f"/book/{shelf['book']}")
    client.post("/cart/add", data={"book_id": shelf["book"], "quantity": 1})

    mine = client.get(f"/book/{shelf['book']}").get_data(as_text=True)
    theirs = app.test_client().get(f"/book/{shelf['book']}").get_data(as_text=True)

    assert "is in your cart" in mine and "is in your cart" not in theirs


def test_a_refused_page_is_never_cached(app, client, shelf):
    assert client.get("/category/fiction?min_price=abc").status_code == 400
    assert client.get("/category/fiction?min_price=abc").status_code == 400
    assert client.get("/category/fiction").status_code == 200
    assert client.get("/category/nowhere").status_code == 404


def test_a_listing_shows_changes_once_its_page_expires(app, client, shelf):
    client.get("/category/fiction")
    with app.app_context():
        db.session.execute(sa.update(Book).values(title="Retitled tale"))
        db.session.commit()
    assert "Retitled tale" not in client.get("/category/fiction").get_data(True)  # cached

    with app.app_context():
        from app.core.extensions import cache
        for key in [k for k in cache.cache._cache if k.startswith("page:category")]:
            cache.cache._cache[key] = (1.0, cache.cache._cache[key][1])  # time has passed

    assert "Retitled tale" in client.get("/category/fiction").get_data(True)


@pytest.mark.parametrize("app_config", [{"PAGE_CACHE_SECONDS": 0}])
def test_with_the_page_cache_off_every_visit_renders_afresh(app, client, shelf):
    client.get("/category/fiction")
    with app.app_context():
        db.session.execute(sa.update(Book).values(title="Retitled tale"))
        db.session.commit()

    assert "Retitled tale" in client.get("/category/fiction").get_data(True)


def test_each_catalog_page_says_whether_it_came_from_the_cache(app, shelf):
    """X-Cache: "miss" when rendered and stored, "hit" when served from the stored page (here
    by the front door, for the second visitor); no header on a page the cache takes no part in."""
    first, second = app.test_client(), app.test_client()
    path = f"/book/{shelf['book']}"

    assert first.get(path).headers.get("X-Cache") == "miss"
    assert second.get(path).headers.get("X-Cache") == "hit"
    assert first.get("/cart").headers.get("X-Cache") is None


def test_a_member_served_a_shared_page_is_told_it_was_a_hit(app, client, shelf):
    app.test_client().get("/")  # a visitor stores the home page
    log_in(client)

    assert client.get("/").headers.get("X-Cache") == "hit"
