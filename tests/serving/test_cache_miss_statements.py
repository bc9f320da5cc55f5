"""What each page costs in SQL when the page cache misses, pinned exactly.

The page cache serves most catalog traffic, but a realistic mix spreads over the whole catalog
and two languages (bench/realistic.py), so the pages shoppers feel are the misses. Each page's
statements on a miss are pinned here: a change that adds one fails this test and says so.
(The category bar's query is kept across requests; the first request of each test warms it.)
"""

from __future__ import annotations

import pytest

from app.core.extensions import db
from app.ordering import cart
from tests.factories import make_book, make_category, make_member, make_placed_order
from tests.helpers import counting_statements

pytestmark = pytest.mark.parametrize("app_config", [{"PAGE_CACHE_SECONDS": 0}])

MEMBER = "pinned@example.test"


@pytest.fixture
def shop(app):
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        make_category(slug="poetry", name="Poetry")
        books = [make_book(title=f"Pinned tale {n}", category=fiction, sold_count=n,
                           stock_on_hand=5) for n in range(12)]
        member = make_member(email=MEMBER, password="correct horse 1")
        db.session.flush()
        order = make_placed_order(member, lines=[(books[4], 1), (books[5], 2)])
        for book in books[:3]:
            cart.add(member, {}, book.id, 1)
        db.session.commit()
        return {"book": books[0].id, "order": order.id}


# page -> statements on a miss (a visitor; a member)
VISITOR_PAGES = {
    "/": 0,  # its fragments (bestsellers, new books) are kept like the category bar
    "/category/fiction": 1,  # its page with the count of its books (the category is kept)
    "/search?q=tale": 2,  # ranked on SQLite: counted first, then the page
    "/search?q=pinned+tale&in_stock=1&sort=price_asc": 1,
    "/search?q=ta": 1,  # no index serves 2 characters: the page is read with its count
    "/search?category=poetry": 2,  # the page with its count (none found), best sellers
    "/book/{book}": 2,
}
MEMBER_PAGES = {  # the member (with their cart's count and discount) is read in one
    "/": 1,
    "/category/fiction": 2,
    "/search?q=tale": 3,
    "/book/{book}": 3,
    "/cart": 4,
    "/orders": 3,  # the member, a page of orders, their lines (a first page not full: no count)
    "/orders/{order}": 2,  # the page after every checkout: the order with its lines in one
    "/account/": 5,  # with the grade table and its names (the overview names the grade)
}


def _statements(app, client, url: str) -> list[str]:
    client.get(url)  # warm what is kept across requests (the category bar)
    with counting_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200
    assert response.headers.get("X-Cache") is None  # rendered, not served from a cache
    return statements


@pytest.mark.parametrize(("url", "expected"), VISITOR_PAGES.items())
def test_a_visitors_page_on_a_miss_runs_exactly_its_statements(app, client, shop, url, expected):
    statements = _statements(app, client, url.format(**shop))

    assert len(statements) == expected, "\n\n".join(statements)


@pytest.mark.parametrize(("url", "expected"), MEMBER_PAGES.items())
def test_a_members_page_on_a_miss_runs_exactly_its_statements(app, client, shop, url, expected):
    from tests.pages import log_in

    log_in(client, MEMBER)
    client.get("/")  # read the welcome message
    statements = _statements(app, client, url.format(**shop))

    assert len(statements) == expected, "\n\n".join(statements)

