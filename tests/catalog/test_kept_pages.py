"""A catalog page that misses the page cache is kept per process under a fingerprint of what it
shows (app.serving.page_cache.render_kept): the next request with the same content is served
without rendering, and any change to what the page shows (its book's fields, a related book,
a new match, the header's categories, the language) renders it afresh. A page with a part of
its own for each member (the out-of-stock panel) is never given to a member from the store."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

import pytest
from flask import template_rendered

from app.catalog import browse
from app.catalog.models import Book, BookAltTitle, Category
from app.core.extensions import db
from app.serving import page_cache
from app.serving.page_store import KeptPages
from tests.factories import make_book, make_category, make_demand, make_member
from tests.pages import logged_in_client

page_cache_off = pytest.mark.parametrize("app_config", [{"PAGE_CACHE_SECONDS": 0}])


@pytest.fixture
def shelf(app):
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        book = make_book(title="The Kept Harbour", authors="Ada Keeper", category=fiction,
                         price=Decimal("12.50"), stock_on_hand=40, sold_count=99,
                         description="A harbour town keeps its secrets.")
        neighbour = make_book(title="Harbour Neighbour", category=fiction, sold_count=5,
                              stock_on_hand=9)
        sold_out = make_book(title="The Sold Out Harbour", category=fiction, stock_on_hand=0)
        db.session.commit()
        return {"book": book.id, "neighbour": neighbour.id, "sold_out": sold_out.id,
                "fiction": fiction.id}


@contextmanager
def renders(app):
    """The names of the templates rendered while the block runs."""
    names: list[str] = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


def _change(app, model, row_id: int, **values) -> None:
    with app.app_context():
        row = db.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


@page_cache_off
def test_a_page_shown_again_with_the_same_content_is_not_rendered_again(app, client, shelf):
    for url, template in [(f"/book/{shelf['book']}", "shop/book.html"),
                          ("/category/fiction", "shop/category.html"),
                          ("/search?q=harbour", "shop/search.html")]:
        first = client.get(url)
        with renders(app) as rendered:
            again = client.get(url)
        assert first.status_code == again.status_code == 200
        assert template not in rendered, url
        assert again.get_data() == first.get_data()


@page_cache_off
def test_kept_pages_can_be_turned_off(app, client, shelf):
    app.config["KEPT_PAGES_KB"] = 0
    app.extensions.pop("bookstation.kept_pages", None)
    client.get(f"/book/{shelf['book']}")
    with renders(app) as rendered:
        client.get(f"/book/{shelf['book']}")
    assert "shop/book.html" in rendered


@page_cache_off
def test_the_book_page_follows_every_change_to_what_it_shows(app, client, shelf):
    url = f"/book/{shelf['book']}"
    assert "12.50" in client.get(url).get_data(as_text=True)

    _change(app, Book, shelf["book"], price=Decimal("9.75"))
    page = client.get(url).get_data(as_text=True)
    assert "9.75" in page and "12.50" not in page

    _change(app, Book, shelf["book"], description="The lighthouse keeper's last winter.")
    assert "last winter" in client.get(url).get_data(as_text=True)

    _change(app, Book, shelf["book"], stock_on_hand=0)
    assert "sold out for now" in client.get(url).get_data(as_text=True)

    with app.app_context():
        db.session.add(BookAltTitle(book_id=shelf["book"], kind="original", title="Le Port"))
        db.session.commit()
    assert "Le Port" in client.get(url).get_data(as_text=True)

    _change(app, Book, shelf["neighbour"], title="Harbour Neighbour, Revised")
    assert "Harbour Neighbour, Revised" in client.get(url).get_data(as_text=True)


@page_cache_off
def test_the_header_s_categories_and_the_language_are_part_of_what_a_page_shows(app, client,
                                                                                  shelf):
    with app.app_context():
        poetry = make_category(slug="poetry", name="Poetry")
        db.session.commit()
        poetry_id = poetry.id
    for url in ("/category/fiction", f"/book/{shelf['book']}", "/search?q=harbour"):
        assert ">Poetry<" in client.get(url).get_data(as_text=True)
    _change(app, Category, poetry_id, name="Verse")  # in the header, not on these pages
    with app.test_request_context():
        from app.catalog.web.views import forget_nav_categories
        forget_nav_categories()
    for url in ("/category/fiction", f"/book/{shelf['book']}", "/search?q=harbour"):
        page = client.get(url).get_data(as_text=True)
        assert ">Verse<" in page and ">Poetry<" not in page, url

    client.set_cookie("lang", "zh_Hans")
    chinese = client.get("/category/fiction").get_data(as_text=True)
    assert chinese != page and 'lang="zh-Hans"' in chinese


@page_cache_off
def test_a_new_match_shows_in_a_search_shown_before(app, client, shelf):
    url = "/search?q=harbour"
    assert "Harbour Beacon" not in client.get(url).get_data(as_text=True)
    with app.app_context():
        book = make_book(title="Harbour Beacon", category=db.session.get(Category,
                                                                        shelf["fiction"]))
        db.session.flush()
        browse.refresh_search_text(book)
        db.session.commit()
    assert "Harbour Beacon" in client.get(url).get_data(as_text=True)


@page_cache_off
def test_each_reader_gets_their_own_token_in_a_kept_page(app, shelf):
    url = f"/book/{shelf['book']}"
    one, two = app.test_client(), app.test_client()
    first, second = one.get(url).get_data(as_text=True), two.get(url).get_data(as_text=True)
    hole = page_cache.page_store.holes(app)[0]

    def token(html: str) -> str:
        return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    assert hole not in first and hole not in second
    assert token(first) and token(second) and token(first) != token(second)


@page_cache_off
def test_a_member_never_gets_the_out_of_stock_panel_kept_for_someone_else(app, shelf):
    url = f"/book/{shelf['sold_out']}"
    with app.app_context():
        asker = make_member(email="asker@example.test")
        make_member(email="other@example.test")
        make_demand(member=asker, book=db.session.get(Book, shelf["sold_out"]), quantity=2)
        db.session.commit()

    visitor_page = app.test_client().get(url).get_data(as_text=True)
    asker_page = logged_in_client(app, "asker@example.test").get(url).get_data(as_text=True)
    with renders(app) as rendered:
        other_page = logged_in_client(app, "other@example.test").get(url).get_data(as_text=True)

    assert "You are on the list for 2 copies" in asker_page
    assert "You are on the list" not in other_page and "You are on the list" not in visitor_page
    assert 'name="email"' in visitor_page and 'name="email"' not in other_page
    assert "shop/book.html" in rendered  # rendered for the member, not taken from the store


def test_the_store_drops_the_least_recently_used_page_first():
    store = KeptPages(limit=8 * 100)
    for n in range(8):
        store.put(n, "x" * 100)
    assert store.get(0) is not None  # now the most recently used
    store.put(8, "y" * 100)
    assert store.get(1) is None and store.get(0) is not None and store.get(8) is not None
    assert store.size <= store.limit
    store.put("big", "z" * 101)  # more than an eighth of the store: not kept
    assert store.get("big") is None


def test_a_value_the_fingerprint_cannot_see_into_is_refused():
    class Opaque:
        pass

    with pytest.raises(TypeError):
        page_cache.fingerprint((1, Opaque()))
    assert page_cache.fingerprint((1, "a", Decimal("2.50"))) == \
        page_cache.fingerprint([1, "a", Decimal("2.50")])
    assert page_cache.fingerprint((1, "a")) != page_cache.fingerprint((1, "b"))
