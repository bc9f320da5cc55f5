"""The home page's shelves come from the cache: only the per-user header queries the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.catalog.web.views import forget_home_shelves, forget_nav_categories
from app.core.extensions import cache, db
from app.models import Book
from tests.factories import make_book, make_category, make_member
from tests.helpers import counting_statements


@pytest.fixture
def shelf(app):
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        for n in range(15):
            make_book(title=f"Shelf tale {n}", category=fiction, sold_count=n)
        make_member(email="member@example.test", password="correct horse 1")
        db.session.commit()


def test_a_second_visit_to_the_home_page_runs_no_query_at_all_for_a_visitor(app, client, shelf):
    with counting_statements(app) as first:
        assert client.get("/").status_code == 200
    with counting_statements(app) as second:
        page = client.get("/").get_data(as_text=True)

    assert len(first) >= 3  # new arrivals, best sellers, categories (and the header)
    assert second == []  # a visitor's header needs no query either
    assert "Shelf tale 14" in page and "Best sellers" in page


def test_for_a_member_only_the_header_queries_remain(app, client, auth, shelf):
    client.get("/")  # fill the cache
    auth.login()

    with counting_statements(app) as statements:
        page = client.get("/").get_data(as_text=True)

    # Loading the member and the cart badge: both per user, neither about the catalog.
    assert len(statements) <= 2, statements
    assert not [s for s in statements if "FROM book" in s]
    assert "Log out" in page and "Shelf tale 14" in page


def test_a_new_book_shows_on_the_home_page_after_an_explicit_invalidation(app, client, shelf):
    client.get("/")
    with app.app_context():
        make_book(title="Brand New Arrival")
        db.session.commit()

    assert "Brand New Arrival" not in client.get("/").get_data(as_text=True)  # still cached
    with app.test_request_context():
        forget_home_shelves()
    assert "Brand New Arrival" in client.get("/").get_data(as_text=True)


def test_a_new_book_shows_on_the_home_page_once_the_cached_shelves_expire(app, client, shelf):
    client.get("/")
    with app.app_context():
        make_book(title="Brand New Arrival")
        db.session.commit()
        # What the clock does after HOME_CACHE_SECONDS: the cached entries have expired.
        keys = [k for k in cache.cache._cache if "home" in k]  # the shelves and the page
        assert keys
        for key in keys:
            cache.cache._cache[key] = (1.0, cache.cache._cache[key][1])

    assert "Brand New Arrival" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"HOME_CACHE_SECONDS": 0}])
def test_with_the_home_cache_off_every_visit_reads_the_catalog(app, client, shelf):
    client.get("/")
    with app.app_context():
        db.session.execute(sa.update(Book).values(title="Retitled"))
        db.session.commit()

    assert "Retitled" in client.get("/").get_data(as_text=True)


def test_forgetting_the_categories_refreshes_the_header_and_the_shelves(app, client, shelf):
    client.get("/")
    with app.app_context():
        make_category(slug="poetry", name="Poetry")
        db.session.commit()
    with app.test_request_context():
        forget_nav_categories()

    page = client.get("/").get_data(as_text=True)

    assert 'href="/category/poetry">Poetry</a>' in page


@pytest.mark.parametrize("app_config", [{"CACHE_TYPE": "RedisCache",
                                         "CACHE_REDIS_URL": "redis://127.0.0.1:1/0"}])
def test_a_cache_that_cannot_be_reached_slows_the_page_but_never_breaks_it(app, client, shelf):
    response = client.get("/")

    assert response.status_code == 200
    assert "Shelf tale 14" in response.get_data(as_text=True)


def test_a_visitor_with_books_in_the_cart_sees_their_own_badge_on_the_cached_home_page(
        app, client, shelf):
    client.get("/")  # a visitor with an empty cart fills the whole-page cache
    with app.app_context():
        book_id = db.session.scalar(sa.select(Book.id).limit(1))
    client.post("/cart/add", data={"book_id": book_id, "quantity": 3})

    page = client.get("/").get_data(as_text=True)

    assert 'data-testid="cart-count">3<' in page
    assert "Shelf tale 14" in page


def test_a_message_waiting_for_a_visitor_is_shown_not_cached(app, client, auth, shelf):
    client.get("/")
    auth.login()
    auth.logout()  # flashes "You are logged out"

    page = client.get("/").get_data(as_text=True)
    again = client.get("/").get_data(as_text=True)

    assert "logged out" in page
    assert "logged out" not in again
