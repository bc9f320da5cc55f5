"""Listings: new arrivals, best sellers, categories and their pages; only books on sale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.catalog import browse as catalog
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.extensions import db
from tests.factories import make_book, make_category
from tests.helpers import counting_statements


def test_new_arrivals_lists_the_latest_books_first(ctx):
    old = make_book(title="Old", created_at=utcnow() - timedelta(days=9))
    new = make_book(title="New", created_at=utcnow())
    make_book(title="Hidden", created_at=utcnow() + timedelta(days=1), is_active=False)
    db.session.commit()

    assert catalog.new_arrivals(limit=5) == [new, old]


def test_new_arrivals_respects_its_limit(ctx):
    for _ in range(4):
        make_book()
    db.session.commit()

    assert len(catalog.new_arrivals(limit=3)) == 3


def test_best_sellers_are_ordered_by_copies_sold(ctx):
    make_book(title="Few", sold_count=2)
    make_book(title="Most", sold_count=90)
    make_book(title="Some", sold_count=10)
    make_book(title="Withdrawn", sold_count=1000, is_active=False)
    db.session.commit()

    assert [b.title for b in catalog.best_sellers(limit=10)] == ["Most", "Some", "Few"]


def test_categories_come_in_display_order_with_counts_of_books_on_sale(ctx):
    poetry = make_category(slug="poetry", name="Poetry", position=2)
    empty = make_category(slug="empty", name="Empty", position=3)
    crime = make_category(slug="crime", name="Crime", position=1)
    make_book(category=poetry)
    make_book(category=poetry)
    make_book(category=poetry, is_active=False)
    make_book(category=crime)
    db.session.commit()

    counts = [(c.category.slug, c.count) for c in catalog.categories_with_counts()]

    assert counts == [("crime", 1), ("poetry", 2), ("empty", 0)]
    assert empty.id is not None


def test_nav_categories_are_slug_and_name_pairs(ctx):
    make_category(slug="b", name="Beta", position=2)
    make_category(slug="a", name="Alpha", position=1)
    db.session.commit()

    nav = catalog.nav_categories()

    assert nav == [("a", "Alpha"), ("b", "Beta")]
    assert nav[0].slug == "a" and nav[0].name == "Alpha"


def test_a_category_lists_only_its_own_books_on_sale(ctx):
    mine = make_category()
    other = make_category()
    kept = make_book(category=mine)
    make_book(category=mine, is_active=False)
    make_book(category=other)
    db.session.commit()

    page = catalog.books_in_category(mine)

    assert page.items == [kept]
    assert page.total == 1


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("bestselling", ["B", "C", "A"]),
        ("price_asc", ["C", "A", "B"]),
        ("price_desc", ["B", "A", "C"]),
        ("newest", ["C", "B", "A"]),
    ],
)
def test_a_category_can_be_sorted(ctx, sort, expected):
    shelf = make_category()
    now = utcnow()
    make_book(title="A", price=Decimal("10.00"), sold_count=1, created_at=now - timedelta(2),
              category=shelf)
    make_book(title="B", price=Decimal("30.00"), sold_count=9, created_at=now - timedelta(1),
              category=shelf)
    make_book(title="C", price=Decimal("5.00"), sold_count=5, created_at=now, category=shelf)
    db.session.commit()

    page = catalog.books_in_category(shelf, sort=sort)

    assert [b.title for b in page.items] == expected


def test_a_category_can_show_only_books_in_stock(ctx):
    shelf = make_category()
    make_book(title="Here", stock_on_hand=1, category=shelf)
    make_book(title="Gone", stock_on_hand=0, category=shelf)
    db.session.commit()

    page = catalog.books_in_category(shelf, in_stock_only=True)

    assert [b.title for b in page.items] == ["Here"]


def test_a_category_can_be_filtered_by_price(ctx):
    shelf = make_category()
    for price in ("4.99", "5.00", "20.00", "20.01"):
        make_book(title=price, price=Decimal(price), category=shelf)
    db.session.commit()

    page = catalog.books_in_category(
        shelf, sort="price_asc", min_price=Decimal("5"), max_price=Decimal("20")
    )

    assert [b.title for b in page.items] == ["5.00", "20.00"]


def test_a_category_is_paginated(ctx):
    shelf = make_category()
    for n in range(5):
        make_book(title=f"T{n}", category=shelf)
    db.session.commit()

    first = catalog.books_in_category(shelf, page=1, per_page=2)
    last = catalog.books_in_category(shelf, page=3, per_page=2)
    beyond = catalog.books_in_category(shelf, page=9, per_page=2)

    assert (first.pages, first.has_next, len(first.items)) == (3, True, 2)
    assert (last.has_next, len(last.items)) == (False, 1)
    assert beyond.items == []


def test_an_unknown_category_slug_raises_not_found(ctx):
    with pytest.raises(NotFound):
        catalog.category_by_slug("no-such-shelf")


def test_the_book_page_loads_the_category_with_the_book(ctx):
    shelf = make_category(name="Travel")
    book_id = make_book(category=shelf).id
    db.session.commit()
    db.session.expunge_all()

    loaded = catalog.book_for_page(book_id)
    db.session.expunge_all()  # a lazy load now would fail: the category must already be there

    assert loaded.category.name == "Travel"


def test_related_books_come_from_the_same_category(ctx):
    shelf = make_category()
    book = make_book(category=shelf)
    sibling = make_book(category=shelf)
    make_book()
    db.session.commit()

    assert [card.id for card in catalog.related_books(book)] == [sibling.id]
    [card] = catalog.related_books(book)
    assert (card.title, card.authors, card.price, card.stock_on_hand) == (
        sibling.title, sibling.authors, sibling.price, sibling.stock_on_hand)


@pytest.mark.parametrize(
    ("stock", "level"), [(0, "out"), (1, "low"), (3, "low"), (4, "in"), (500, "in")]
)
def test_stock_level_names_low_stock_at_or_under_the_threshold(stock, level):
    assert catalog.stock_level(stock, low_threshold=3) == level


def test_search_text_is_folded_and_holds_every_isbn_and_the_year(ctx):
    book = make_book(title="Émile  ＺＯＬＡ", authors="Ann Ô", isbn13="9780439023481", year=1885)

    text = catalog.search_text_for(book)

    assert text.startswith("emile zola ")
    assert "ann o" in text and "9780439023481" in text and "0439023483" in text
    assert "1885" in text


def test_refresh_search_text_follows_a_title_change(ctx):
    book = make_book(title="Draft")
    db.session.commit()

    book.title = "Final Cut"
    catalog.refresh_search_text(book)
    db.session.commit()

    assert [b.id for b in catalog.search("final").items] == [book.id]
    assert catalog.search("draft").total == 0


@pytest.mark.parametrize("cards", [False, True])
def test_a_categorys_page_and_its_count_come_in_one_statement(ctx, cards):
    """Same work for the database as counting apart (the count is a subquery it runs once),
    one statement less; a page past the last counts apart; an empty shelf is one statement."""
    shelf, empty = make_category(slug="shelf"), make_category(slug="empty")
    for n in range(5):
        make_book(title=f"T{n}", category=shelf, sold_count=n)
    make_book(title="Withdrawn", category=shelf, is_active=False)
    db.session.commit()
    db.session.refresh(shelf), db.session.refresh(empty)  # read again now, not while counting

    with counting_statements(ctx) as one:
        page = catalog.books_in_category(shelf, page=2, per_page=2, cards=cards)
    with counting_statements(ctx) as past_the_last:
        beyond = catalog.books_in_category(shelf, page=9, per_page=2, cards=cards)
    with counting_statements(ctx) as nothing:
        none = catalog.books_in_category(empty, cards=cards)

    assert ([b.title for b in page.items], page.total, len(one)) == (["T2", "T1"], 5, 1), one
    assert (list(beyond.items), beyond.total, len(past_the_last)) == ([], 5, 2)
    assert (list(none.items), none.total, len(nothing)) == ([], 0, 1)
