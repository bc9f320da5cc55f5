"""On PostgreSQL, where each statement is a round trip to the server, what each page costs in
SQL when the page cache misses, pinned exactly (the SQLite file's pages and shop). A ranked
search reads its page and its count in one statement here (browse._ranked_with_count)."""

from __future__ import annotations

import pytest

from tests.serving import test_cache_miss_statements as on_sqlite

pytestmark = pytest.mark.parametrize("app_config", [{"PAGE_CACHE_SECONDS": 0}])

VISITOR_PAGES = {**on_sqlite.VISITOR_PAGES, "/search?q=tale": 1}
MEMBER_PAGES = {**on_sqlite.MEMBER_PAGES, "/search?q=tale": 2}


@pytest.fixture
def app(pg_app):
    return pg_app


shop = on_sqlite.shop


@pytest.mark.parametrize(("url", "expected"), VISITOR_PAGES.items())
def test_a_visitors_page_on_a_miss_runs_exactly_its_statements(app, client, shop, url, expected):
    on_sqlite.test_a_visitors_page_on_a_miss_runs_exactly_its_statements(
        app, client, shop, url, expected)


@pytest.mark.parametrize(("url", "expected"), MEMBER_PAGES.items())
def test_a_members_page_on_a_miss_runs_exactly_its_statements(app, client, shop, url, expected):
    on_sqlite.test_a_members_page_on_a_miss_runs_exactly_its_statements(
        app, client, shop, url, expected)
