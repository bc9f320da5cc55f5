"""The catalog's hot queries use their indexes (EXPLAIN), on SQLite and on PostgreSQL."""

from __future__ import annotations

from app.catalog import browse as catalog
from app.core.extensions import db
from tests.factories import make_book, make_category
from tests.helpers import plans_of


def shelf(app, books: int = 40) -> None:
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        for n in range(books):
            make_book(title=f"Dragon tale {n}" if n % 4 == 0 else f"Quiet tale {n}",
                      category=fiction, sold_count=n)
        db.session.commit()


def test_search_reads_the_fts5_trigram_index_not_the_whole_book_table(app):
    shelf(app)

    plans = plans_of(app, lambda: catalog.search("dragon"))

    assert plans and all("book_fts VIRTUAL TABLE" in plan for plan in plans), plans
    assert not any("SCAN book " in plan + " " for plan in plans), plans


def test_a_category_page_counts_and_lists_from_the_listing_index(app):
    shelf(app)

    def listing():
        catalog.books_in_category(catalog.category_by_slug("fiction"), sort="bestselling")

    plans = plans_of(app, listing)
    listing_plans = [p for p in plans if "ix_book_category_listing" in p]

    # One statement: the page, and its count as a subquery run once, both from the index.
    assert len(listing_plans) == 1, plans
    plan = listing_plans[0]
    assert plan.count("ix_book_category_listing") == 2 and "SCALAR SUBQUERY" in plan, plan
    assert "COVERING INDEX ix_book_category_listing" in plan
    assert "TEMP B-TREE" not in plan, plan
