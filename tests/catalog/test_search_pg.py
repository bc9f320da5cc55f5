"""Search on PostgreSQL (pg_trgm): the same behaviour shoppers get on SQLite."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog import browse as catalog
from app.core.extensions import db
from app.models import Book
from tests.factories import make_book, make_category
from tests.helpers import counting_statements

pytestmark = pytest.mark.pg


@pytest.fixture
def pg(pg_app):
    with pg_app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        scifi = make_category(slug="science-fiction", name="Science fiction")
        make_book(title="The Hunger Games", authors="Suzanne Collins", isbn13="9780439023481",
                  isbn10="0439023483", price=Decimal("8.99"), stock_on_hand=10,
                  sold_count=500, ratings_count=4_000_000, category=fiction)
        make_book(title="Germinal", authors="Émile Zola", price=Decimal("12.00"),
                  stock_on_hand=0, sold_count=40, category=fiction)
        make_book(title="L'Assommoir", authors="Émile Zola", price=Decimal("11.50"),
                  stock_on_hand=3, sold_count=20, category=fiction)
        make_book(title="三体", authors="刘慈欣", isbn13="9787536692930", price=Decimal("23.00"),
                  sold_count=300, category=scifi)
        make_book(title="三体II：黑暗森林", authors="刘慈欣", price=Decimal("25.00"),
                  sold_count=100, category=scifi)
        make_book(title="Stephen King: A Life", authors="Lisa Rogak", ratings_count=1,
                  category=scifi)
        make_book(title="The Shining", authors="Stephen King", ratings_count=1_000_000,
                  category=fiction)
        make_book(title="snake_case guide", authors="Anon", category=scifi)
        make_book(title="snakecase", authors="Anon", category=scifi)
        db.session.commit()
        yield pg_app


def titles(result) -> list[str]:
    return [book.title for book in result.items]


def test_the_search_index_is_a_trigram_index(pg):
    with pg.app_context():
        indexdef = db.session.scalar(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_book_search_trgm'")
        )

    assert "gin_trgm_ops" in indexdef


def test_title_words_and_partial_words_are_found(pg):
    with pg.app_context():
        assert titles(catalog.search("hunger games")) == ["The Hunger Games"]
        assert titles(catalog.search("germin")) == ["Germinal"]


@pytest.mark.parametrize("query", ["emile zola", "ÉMILE ZOLA", "ＺＯＬＡ"])
def test_case_and_accents_do_not_matter(pg, query):
    with pg.app_context():
        assert set(titles(catalog.search(query))) == {"Germinal", "L'Assommoir"}


@pytest.mark.parametrize("query", ["9780439023481", "978-0-439-02348-1", "0-439-02348-3"])
def test_an_isbn_finds_exactly_that_book(pg, query):
    with pg.app_context():
        assert titles(catalog.search(query)) == ["The Hunger Games"]


def test_chinese_substrings_of_two_and_more_characters_are_found(pg):
    with pg.app_context():
        assert set(titles(catalog.search("三体"))) == {"三体", "三体II：黑暗森林"}
        assert titles(catalog.search("黑暗森林")) == ["三体II：黑暗森林"]


def test_a_title_match_ranks_before_an_author_match(pg):
    with pg.app_context():
        assert titles(catalog.search("king"))[:2] == ["Stephen King: A Life", "The Shining"]


def test_a_word_matching_many_books_is_ranked_by_title_hit_then_popularity(pg, monkeypatch):
    monkeypatch.setattr(catalog, "RANK_BY_SIMILARITY_UP_TO", 1)  # "many" is 1,000 in the shop
    with pg.app_context():
        result = catalog.search("king")
        second_page = catalog.search("king", page=2, per_page=1)

    assert titles(result) == ["Stephen King: A Life", "The Shining"]
    assert result.total == 2
    assert (titles(second_page), second_page.total) == (["The Shining"], 2)


def test_past_the_limit_a_whole_title_word_beats_a_more_popular_part_word(pg, monkeypatch):
    monkeypatch.setattr(catalog, "RANK_BY_SIMILARITY_UP_TO", 1)
    with pg.app_context():
        make_book(title="Breaking Dawn", authors="Stephenie Meyer", ratings_count=9_000_000)
        db.session.commit()

        assert titles(catalog.search("king"))[:3] == [
            "Stephen King: A Life", "Breaking Dawn", "The Shining"]


def test_short_words_are_counted_and_ranked_with_their_page(pg, monkeypatch):
    # Under three characters no index serves a word: each search reads every book once, its
    # page with the count; past the ranking limit the page is read again by title words.
    with pg.app_context():
        assert (titles(catalog.search("ki")), catalog.search("ki").total) == (
            ["Stephen King: A Life", "The Shining"], 2)
        assert catalog.search("ki", page=5, per_page=1).total == 2
        monkeypatch.setattr(catalog, "RANK_BY_SIMILARITY_UP_TO", 1)
        result = catalog.search("ki", per_page=1, cards=True)
        assert ([b.title for b in result.items], result.total) == (["Stephen King: A Life"], 2)
        assert titles(catalog.search("三体", sort="price_desc")) == ["三体II：黑暗森林", "三体"]


def test_filters_and_sorts_work(pg):
    with pg.app_context():
        assert set(titles(catalog.search("zola", in_stock_only=True))) == {"L'Assommoir"}
        assert titles(catalog.search("zola", sort="price_desc")) == ["Germinal", "L'Assommoir"]
        assert titles(catalog.search("zola", max_price=Decimal("11.99"))) == ["L'Assommoir"]
        assert titles(catalog.search("三体", category_slug="fiction")) == []


def test_like_wildcards_are_literal(pg):
    with pg.app_context():
        assert titles(catalog.search("_c")) == ["snake_case guide"]
        assert titles(catalog.search("snake_case")) == ["snake_case guide"]


@pytest.mark.parametrize(
    "query",
    ["", "!!!", "' OR 1=1 --", "'; DROP TABLE book; --", 'AND OR NEAR * "', "%", "\\",
     "a" * 1000, "🙂"],
)
def test_absurd_queries_return_normally(pg, query):
    with pg.app_context():
        result = catalog.search(query)

        assert result.total >= 0
        assert db.session.scalar(sa.select(sa.func.count(Book.id))) == 9


def test_the_search_page_renders_on_postgresql(pg):
    client = pg.test_client()

    assert client.get("/search?q=zola&in_stock=1").status_code == 200
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("many", [False, True])
def test_a_ranked_search_reads_its_page_and_count_in_one_statement(pg, monkeypatch, many):
    """The count of all matches, a window over them, picks the ranking in the same statement
    (similarity up to RANK_BY_SIMILARITY_UP_TO matches, whole title words past it): no count
    first. A page past the last counts apart; nothing found is one statement too."""
    if many:
        monkeypatch.setattr(catalog, "RANK_BY_SIMILARITY_UP_TO", 1)
    with pg.app_context():
        with counting_statements(pg) as one:
            result = catalog.search("king", cards=True)
        with counting_statements(pg) as past_the_last:
            beyond = catalog.search("king", page=3, per_page=1, cards=True)
        with counting_statements(pg) as nothing:
            none = catalog.search("nosuchword", cards=True)

    assert ([book.title for book in result.items], result.total) == (
        ["Stephen King: A Life", "The Shining"], 2)
    assert len(one) == 1, one
    assert (beyond.items, beyond.total, len(past_the_last)) == ((), 2, 2)
    assert (none.total, len(nothing)) == (0, 1)


@pytest.mark.parametrize(("limit", "expected"), [
    # up to the limit, by similarity (an exact word anywhere), then popularity
    (1000, ["Kingly Matters", "Stephen King: A Life", "Kingdom Come", "The Shining"]),
    # past it, by whole title words, then popularity
    (1, ["Stephen King: A Life", "Kingdom Come", "Kingly Matters", "The Shining"]),
])
def test_the_count_of_matches_picks_the_ranking_of_the_page(pg, monkeypatch, limit, expected):
    monkeypatch.setattr(catalog, "RANK_BY_SIMILARITY_UP_TO", limit)
    with pg.app_context():
        make_book(title="Kingly Matters", authors="Stephen King", ratings_count=5)
        make_book(title="Kingdom Come", authors="Anon", ratings_count=100)
        db.session.commit()

        assert titles(catalog.search("king")) == expected
        assert [b.title for b in catalog.search("king", cards=True).items] == expected
