"""The shop pages through the test client: they render, they refuse bad input with 400/404."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Category
from tests.factories import make_book, make_category


@pytest.fixture
def shop(app):
    """A category with three books: plenty, low and no stock."""
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        plenty = make_book(title="Germinal", authors="Émile Zola", stock_on_hand=12,
                           price=Decimal("12.50"), isbn13="9780439023481",
                           publisher="Charpentier", description="Miners in the north.",
                           average_rating=4.2, ratings_count=12345, sold_count=9,
                           category=fiction)
        low = make_book(title="Nana", authors="Émile Zola", stock_on_hand=2, category=fiction)
        out = make_book(title="La Bête humaine", authors="Émile Zola", stock_on_hand=0,
                        category=fiction)
        db.session.commit()
        return {"plenty": plenty.id, "low": low.id, "out": out.id}


def text(response) -> str:
    return response.get_data(as_text=True)


# --------------------------------------------------------------------------- every page renders


@pytest.mark.parametrize(
    "url",
    ["/", "/category/fiction", "/search", "/search?q=zola", "/search?q=", "/search?q=%21%21"],
)
def test_every_catalog_page_renders(client, shop, url):
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/", "/search", "/search?q=anything", "/search?sort=newest"])
def test_pages_render_when_the_catalog_is_empty(client, url):
    response = client.get(url)

    assert response.status_code == 200


def test_an_empty_category_renders(client, app):
    with app.app_context():
        make_category(slug="empty", name="Empty shelf")
        db.session.commit()

    response = client.get("/category/empty")

    assert response.status_code == 200
    assert "No books found" in text(response)


def test_the_home_page_shows_new_arrivals_best_sellers_and_categories(client, shop):
    page = text(client.get("/"))

    assert "New arrivals" in page and "Best sellers" in page
    assert "Germinal" in page
    assert 'href="/category/fiction"' in page
    assert 'class="book-grid"' in page and 'class="book-card"' in page


def test_the_header_lists_the_categories(client, shop):
    page = text(client.get("/search"))

    assert 'class="category-nav"' in page
    assert ">Fiction</a>" in page


# --------------------------------------------------------------------------- book page


def test_the_book_page_shows_everything_a_shopper_needs(client, shop):
    page = text(client.get(f"/book/{shop['plenty']}"))

    for expected in ("Germinal", "Émile Zola", "2001", "9780439023481", "12.50", "In stock",
                     "Charpentier", "Miners in the north.", "4.2", "12,345", "Fiction"):
        assert expected in page, expected
    assert f'src="/covers/{shop["plenty"]}.svg"' in page
    assert 'alt="Cover of Germinal"' in page


def test_the_book_page_has_an_add_to_cart_form(client, shop):
    page = text(client.get(f"/book/{shop['plenty']}"))

    assert 'action="/cart/add"' in page and 'method="post"' in page
    assert 'name="csrf_token"' in page
    assert f'name="book_id" value="{shop["plenty"]}"' in page
    assert 'name="quantity" type="number" value="1" min="1" max="99"' in page
    assert f'name="next" value="/book/{shop["plenty"]}"' in page


def test_low_stock_says_how_many_are_left(client, shop):
    assert "Only 2 left" in text(client.get(f"/book/{shop['low']}"))


def test_an_out_of_stock_book_has_no_form_but_a_disabled_button(client, shop):
    page = text(client.get(f"/book/{shop['out']}"))

    assert "Out of stock" in page
    assert 'action="/cart/add"' not in page
    assert "disabled" in page


def test_an_inactive_book_says_it_is_no_longer_sold(client, app):
    with app.app_context():
        book_id = make_book(title="Gone", is_active=False).id
        db.session.commit()

    page = text(client.get(f"/book/{book_id}"))

    assert "no longer sold" in page
    assert 'action="/cart/add"' not in page


# --------------------------------------------------------------------------- search page


def test_search_shows_the_count_and_the_results(client, shop):
    page = text(client.get("/search?q=emile+zola"))

    assert "3 books" in page
    assert "Germinal" in page and "Nana" in page


def test_search_filters_and_sort_are_applied(client, shop):
    page = text(client.get("/search?q=zola&in_stock=1&min_price=10&max_price=20&sort=price_asc"))

    assert "1 book" in page and "Germinal" in page and "Nana" not in page


def test_an_empty_search_gives_tips_and_popular_books(client, shop):
    page = text(client.get("/search?q="))

    assert "What are you looking for?" in page
    assert "Popular right now" in page and "Germinal" in page


def test_a_search_without_results_suggests_popular_books(client, shop):
    page = text(client.get("/search?q=quantum+chromodynamics"))

    assert "No books found" in page and "Popular right now" in page


def test_the_search_box_keeps_the_query(client, shop):
    page = text(client.get("/search?q=%3Cb%3Ezola"))

    assert 'value="&lt;b&gt;zola"' in page
    assert "<b>zola" not in page


@pytest.mark.parametrize(
    "query",
    ["a" * 1000, "' OR 1=1 --", 'AND OR NEAR * "', "%25_%25", "\u0000", "🙂"],
)
def test_absurd_searches_render_normally(client, shop, query):
    assert client.get("/search", query_string={"q": query}).status_code == 200


def test_search_results_are_paginated(client, app):
    with app.app_context():
        for n in range(30):
            make_book(title=f"Atlas {n}")
        db.session.commit()

    first = text(client.get("/search?q=atlas"))
    second = client.get("/search?q=atlas&page=2")

    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert second.status_code == 200 and "Page 2 of 2" in text(second)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "query",
    [
        "page=0", "page=-1", "page=abc", "page=1.5", "page=99999999999999999999",
        "sort=evil", "sort=price_asc;DROP", "min_price=abc", "min_price=-5",
        "max_price=1e999999", "max_price=NaN", "min_price=Infinity", "category=nope",
    ],
)
def test_bad_query_strings_on_search_give_400_with_a_message(client, shop, query):
    response = client.get(f"/search?q=zola&{query}")

    assert response.status_code == 400
    assert 'class="error"' in text(response)


@pytest.mark.parametrize("query", ["page=0", "sort=relevance", "min_price=x", "in_stock=1&page=z"])
def test_bad_query_strings_on_a_category_give_400(client, shop, query):
    assert client.get(f"/category/fiction?{query}").status_code == 400


def test_a_bad_price_is_shown_back_as_typed(client, shop):
    page = text(client.get("/search?q=zola&min_price=twelve"))

    assert 'value="twelve"' in page
    assert "Enter an amount" in page


@pytest.mark.parametrize(
    "url",
    [
        "/book/999999", "/book/0", "/book/99999999999999999999999", "/book/-1", "/book/abc",
        "/category/no-such-shelf", "/category/" + "x" * 300, "/covers/999999.svg",
        "/covers/99999999999999999999.svg", "/search?q=zola&page=5", "/category/fiction?page=2",
    ],
)
def test_unknown_ids_slugs_and_pages_give_404(client, shop, url):
    assert client.get(url).status_code == 404


def test_an_empty_sort_or_page_means_the_default(client, shop):
    assert client.get("/search?q=zola&sort=&page=").status_code == 200


# --------------------------------------------------------------------------- covers


def test_the_cover_is_an_svg_with_long_caching_and_an_etag(client, shop):
    response = client.get(f"/covers/{shop['plenty']}.svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.cache_control.max_age >= 7 * 24 * 3600
    assert response.cache_control.public
    assert response.get_etag()[0]
    ElementTree.fromstring(response.get_data())


def test_a_cover_is_not_sent_again_when_the_browser_has_it(client, shop):
    etag = client.get(f"/covers/{shop['plenty']}.svg").get_etag()[0]

    response = client.get(f"/covers/{shop['plenty']}.svg", headers={"If-None-Match": f'"{etag}"'})

    assert response.status_code == 304


def test_a_cover_escapes_markup_in_the_title(client, app):
    with app.app_context():
        book_id = make_book(title='Cats & <Dogs> "quoted"', authors="A & B").id
        db.session.commit()

    response = client.get(f"/covers/{book_id}.svg")

    root = ElementTree.fromstring(response.get_data())
    title = root.find("{http://www.w3.org/2000/svg}title").text
    assert title.startswith('Cats & <Dogs> "quoted"')
    assert b"<Dogs>" not in response.get_data()


def test_the_book_page_escapes_markup_in_the_title(client, app):
    with app.app_context():
        book_id = make_book(title="<script>alert(1)</script>").id
        db.session.commit()

    page = text(client.get(f"/book/{book_id}"))

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --------------------------------------------------------------------------- header cache


def test_the_header_categories_kept_in_one_language_are_not_shown_in_another(client, shop):
    english = text(client.get("/cart"))
    client.get("/language/zh_Hans")
    chinese = text(client.get("/cart"))

    assert 'class="category-nav" aria-label="Categories"' in english
    assert 'class="category-nav" aria-label="分类"' in chinese
    assert ">Fiction</a>" in chinese


def test_the_header_categories_are_cached_per_app(client, app, shop):
    client.get("/")
    with app.app_context():
        db.session.execute(sa.update(Category).values(name="Renamed"))
        db.session.commit()

    cached = text(client.get("/"))

    assert ">Fiction</a>" in cached  # still within the cache's lifetime


@pytest.mark.parametrize("app_config", [{"NAV_CATEGORIES_TTL": 0}])
def test_the_header_categories_refresh_when_the_cache_expires(client, app, shop):
    client.get("/")
    with app.app_context():
        db.session.execute(sa.update(Category).values(name="Renamed"))
        db.session.commit()

    assert ">Renamed</a>" in text(client.get("/"))


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_add_to_cart_form_carries_a_real_csrf_token(client, shop):
    page = text(client.get(f"/book/{shop['plenty']}"))

    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert len(token) > 20


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_search_form_works_with_csrf_on_because_it_is_a_get(client, shop):
    assert client.get("/search?q=zola&in_stock=1").status_code == 200
