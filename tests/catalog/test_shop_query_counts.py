"""The catalog pages run a fixed, small number of SQL statements, however many books they show."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book, Category
from tests.factories import make_book, make_category
from tests.helpers import counting_statements


def stock_shelf(app, how_many: int) -> dict:
    """Add books to the shelf until it holds `how_many`; return the ids the pages need."""
    with app.app_context():
        shelf = db.session.scalar(sa.select(Category).limit(1))
        if shelf is None:
            shelf = make_category(slug="fiction", name="Fiction")
            make_category(slug="poetry", name="Poetry")
        have = db.session.scalar(sa.select(sa.func.count(Book.id)))
        first = None
        for n in range(have, how_many):
            book = make_book(title=f"Tale number {n}", category=shelf, sold_count=n)
            first = first or book
        db.session.commit()
        return {"book": first.id if first else None}


PAGES = [
    "/",
    "/category/fiction",
    "/search?q=tale",
    "/search?q=tale+number&in_stock=1&sort=price_asc",
    "/search?q=",
    "/search?q=no+such+words",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_catalog_page_runs_the_same_few_queries_for_5_or_30_books(app, client, url):
    stock_shelf(app, 5)
    client.get(url)  # warm the header's category cache

    with counting_statements(app) as few:
        assert client.get(url).status_code == 200
    stock_shelf(app, 30)
    with counting_statements(app) as many:
        assert client.get(url).status_code == 200

    assert len(few) == len(many)
    assert len(many) <= 4, many


def test_the_book_page_runs_the_same_few_queries_whatever_the_shelf_holds(app, client):
    ids = stock_shelf(app, 5)
    url = f"/book/{ids['book']}"
    client.get(url)

    with counting_statements(app) as few:
        assert client.get(url).status_code == 200
    stock_shelf(app, 30)
    with counting_statements(app) as many:
        assert client.get(url).status_code == 200

    assert len(few) == len(many)
    assert len(many) <= 2, many


def test_the_header_categories_cost_at_most_one_query_per_request(app, client):
    stock_shelf(app, 1)

    with counting_statements(app) as first:
        client.get("/search?q=")  # renders the header, the sidebar and the search choices
    with counting_statements(app) as second:
        client.get("/search?q=")

    # The names in the reader's language, the English name where a category has none.
    nav = [s for s in first if "category.slug, coalesce(" in s]
    assert len(nav) == 1
    assert not [s for s in second if "category.slug, coalesce(" in s]
