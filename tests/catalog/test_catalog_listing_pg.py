"""On PostgreSQL, a listing that is not ranked reads its page with the count of its books in
one statement, one round trip (the SQLite file's test, again)."""

from __future__ import annotations

import pytest

from tests.catalog import test_catalog_listing as on_sqlite


@pytest.fixture
def ctx(pg_app):
    with pg_app.app_context():
        yield pg_app


test_a_categorys_page_and_its_count_come_in_one_statement = (
    on_sqlite.test_a_categorys_page_and_its_count_come_in_one_statement)
test_a_category_is_paginated = on_sqlite.test_a_category_is_paginated
test_a_category_can_be_filtered_by_price = on_sqlite.test_a_category_can_be_filtered_by_price
test_a_category_can_show_only_books_in_stock = (
    on_sqlite.test_a_category_can_show_only_books_in_stock)
