"""Chinese titles and authors (issue 6): substring search without word spaces, and titles sorted
by a pinyin key so 三体 files under S beside the Latin titles."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog import browse as catalog
from app.catalog.models import title_sort_key
from app.core.extensions import db
from app.models import Book
from tests.factories import make_admin, make_book
from tests.pages import post_login


@pytest.mark.parametrize(("title", "key"), [
    ("三体", "san ti"),
    ("重庆森林", "chong qing sen lin"),  # a polyphone read from pypinyin's phrase list
    ("银河帝国：基地", "yin he di guo ji di"),
    ("The Hobbit", "the hobbit"),
    ("Émile ZOLA: Nana!", "emile zola nana"),
    ("", ""),
])
def test_the_sort_key_spells_chinese_in_pinyin_and_folds_latin(title, key):
    assert title_sort_key(title) == key


def test_the_key_follows_the_title_through_the_orm(ctx):
    book = make_book(title="红楼梦")
    assert book.title_sort == "hong lou meng"
    book.title = "西游记"
    db.session.flush()
    assert db.session.scalar(sa.select(Book.title_sort).where(Book.id == book.id)) == "xi you ji"


def test_a_core_insert_gets_the_key_from_the_column_default(ctx):
    """The seed loader inserts rows with Core, not the ORM."""
    db.session.execute(Book.__table__.insert(), [
        {"title": "水浒传", "authors": "施耐庵", "price": Decimal(0),
         "search_text": ""},
        {"title": "Dune", "authors": "Frank Herbert", "price": Decimal(0), "search_text": ""},
    ])
    keys = dict(db.session.execute(sa.select(Book.title, Book.title_sort)).all())
    assert keys == {"水浒传": "shui hu zhuan", "Dune": "dune"}


def test_the_admin_book_list_sorts_chinese_and_latin_titles_together(app, client):
    with app.app_context():
        for title in ["三体", "Zeno", "阿Q正传", "Moby Dick", "红楼梦", "Beloved"]:
            make_book(title=title, search_text=title)
        make_admin(email="boss@example.test")
        db.session.commit()
    post_login(client, "boss@example.test")
    page = client.get("/admin/books?sort=title").get_data(as_text=True)
    order = [t for t in re.findall(r">([^<>]+)</a>", page)
             if t in {"三体", "Zeno", "阿Q正传", "Moby Dick", "红楼梦", "Beloved"}]
    assert order == ["阿Q正传", "Beloved", "红楼梦", "Moby Dick", "三体", "Zeno"]


@pytest.mark.parametrize(("query", "expected"), [
    ("地球往事", {"三体：地球往事"}),  # the middle of a title, no spaces anywhere
    ("三体", {"三体：地球往事", "三体II：黑暗森林"}),
    ("森", {"三体II：黑暗森林"}),  # one character: the short-term fallback
    ("慈欣", {"三体：地球往事", "三体II：黑暗森林"}),  # part of an author's name
])
def test_chinese_substring_search_needs_no_word_spaces(ctx, query, expected):
    make_book(title="三体：地球往事", authors="刘慈欣")
    make_book(title="三体II：黑暗森林", authors="刘慈欣")
    make_book(title="活着", authors="余华")
    db.session.flush()
    assert {b.title for b in catalog.search(query).items} == expected


def test_a_chinese_search_page_in_chinese(app, client):
    with app.app_context():
        make_book(title="三体：地球往事", authors="刘慈欣")
        db.session.commit()
    page = client.get("/search?q=地球", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "三体：地球往事" in page and "“地球”的搜索结果" in page
