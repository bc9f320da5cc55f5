"""Books carry other names they are known by (English title, pinyin, other titles, other
spellings of the authors' names), and search finds them by those on SQLite and PostgreSQL alike:
红楼梦 by "Dream of the Red Chamber", "Cao Xueqin" and "hongloumeng", also on a Chinese page. A
book whose own title matches ranks above one found by another name."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog import browse as catalog
from app.catalog import editing
from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.models import Book, BookAltTitle
from tests.factories import make_book, make_category
from tests.pages import csrf_token

ZH = {"Accept-Language": "zh-CN"}


def _stock(app) -> dict:
    with app.app_context():
        classics = make_category(slug="classics", name="Classics")
        dream = editing.create_book(editing.BookInput(
            title="红楼梦", authors="曹雪芹", price=Decimal("42.00"), stock_on_hand=5,
            category_id=classics.id, alt_titles=[
                ("english", "Dream of the Red Chamber"), ("pinyin", "Hóng Lóu Mèng"),
                ("other", "The Story of the Stone"), ("author", "Cao Xueqin")]))
        journey = editing.create_book(editing.BookInput(
            title="西游记", authors="吴承恩", price=Decimal("39.00"), stock_on_hand=5,
            alt_titles=[("english", "Journey to the West"), ("pinyin", "Xīyóu Jì"),
                        ("author", "Wu Cheng'en")]))
        # An English edition whose own title is the words searched for, less popular.
        english = make_book(title="Dream of the Red Chamber", authors="Cao Xueqin",
                            ratings_count=0, sold_count=0)
        make_book(title="The Red Tent", authors="Anita Diamant", ratings_count=10_000)
        db.session.commit()
        return {"dream": dream.id, "journey": journey.id, "english": english.id}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def shop(request):
    """The same shelf on SQLite (`app`) and PostgreSQL (`pg_app`)."""
    app = request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    return app, _stock(app)


def titles(result) -> list[str]:
    return [book.title for book in result.items]


@pytest.mark.parametrize("query", ["Dream of the Red Chamber", "dream red chamber",
                                   "Cao Xueqin", "hongloumeng", "Hong Lou Meng",
                                   "hóng lóu mèng", "story of the stone"])
def test_the_chinese_classic_is_found_by_its_other_names(shop, query):
    app, _ids = shop
    with app.app_context():
        assert "红楼梦" in titles(catalog.search(query))


def test_a_book_whose_own_title_matches_ranks_first(shop):
    app, _ids = shop
    with app.app_context():
        assert titles(catalog.search("Dream of the Red Chamber")) == [
            "Dream of the Red Chamber", "红楼梦"]
        assert titles(catalog.search("red"))[-1] == "红楼梦"  # two title hits, then it


def test_journey_to_the_west_finds_xiyouji(shop):
    app, _ids = shop
    with app.app_context():
        assert titles(catalog.search("Journey to the West")) == ["西游记"]
        assert titles(catalog.search("xiyouji")) == ["西游记"]


@pytest.mark.parametrize("query", ["Dream of the Red Chamber", "Cao Xueqin", "hongloumeng"])
def test_a_chinese_reader_finds_the_book_on_the_search_page(shop, query):
    app, ids = shop
    page = app.test_client().get("/search", query_string={"q": query}, headers=ZH)

    assert page.status_code == 200
    assert f'href="/book/{ids["dream"]}"' in page.get_data(as_text=True)


def test_changing_the_other_names_changes_what_finds_the_book(app):
    ids = _stock(app)
    with app.app_context():
        book = db.session.get(Book, ids["journey"])
        editing.update_book(book, editing.BookInput(
            title=book.title, authors=book.authors, price=book.price, stock_on_hand=5,
            alt_titles=[("english", "Monkey")]))
        db.session.commit()

        assert titles(catalog.search("monkey")) == ["西游记"]
        assert titles(catalog.search("journey west")) == []
        entry = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "book.update")).one()
        assert entry.after == {"alt_title_pairs": [["english", "Monkey"]]}


def test_editing_a_book_without_naming_them_keeps_its_other_names(app):
    ids = _stock(app)
    with app.app_context():
        book = db.session.get(Book, ids["dream"])
        editing.update_book(book, editing.BookInput(
            title=book.title, authors=book.authors, price=Decimal("45.00"), stock_on_hand=5))
        db.session.commit()

        assert "红楼梦" in titles(catalog.search("hongloumeng"))


def test_an_unknown_kind_is_refused(ctx):
    with pytest.raises(editing.FieldError):
        editing.create_book(editing.BookInput(
            title="X", authors="Y", price=Decimal("1.00"), stock_on_hand=0,
            alt_titles=[("nickname", "Z")]))


def test_staff_edit_the_other_names_on_the_book_form(app, staff):
    ids = _stock(app)
    url = f"/admin/books/{ids['journey']}/edit"
    form = staff.get(url).get_data(as_text=True)
    assert 'value="Journey to the West"' in form and "Wu Cheng&#39;en" in form

    response = staff.post(url, data={
        "csrf_token": csrf_token(staff, url), "title": "西游记", "authors": "吴承恩",
        "price": "39.00", "stock_on_hand": "5", "category_id": "0", "is_active": "y",
        "title_english": "Journey to the West", "title_pinyin": "Xī Yóu Jì",
        "other_titles": "Monkey\nThe Monkey King\n", "author_names": "Wu Cheng'en\r\nWu Chengen"})

    assert response.status_code == 302
    with app.app_context():
        rows = db.session.execute(sa.select(BookAltTitle.kind, BookAltTitle.title).where(
            BookAltTitle.book_id == ids["journey"]).order_by(BookAltTitle.id)).all()
        assert [tuple(r) for r in rows] == [
            ("english", "Journey to the West"), ("pinyin", "Xī Yóu Jì"), ("other", "Monkey"),
            ("other", "The Monkey King"), ("author", "Wu Cheng'en"), ("author", "Wu Chengen")]
        assert titles(catalog.search("monkey king")) == ["西游记"]


def test_the_book_page_shows_the_other_titles_and_the_authors_latin_name(app, client):
    ids = _stock(app)
    page = client.get(f"/book/{ids['dream']}").get_data(as_text=True)

    assert '<dt>English title</dt><dd itemprop="alternateName" lang="en">Dream of the Red ' \
           'Chamber</dd>' in page
    assert 'lang="zh-Latn">Hóng Lóu Mèng</dd>' in page
    assert '<dt>Also known as</dt><dd itemprop="alternateName">The Story of the Stone</dd>' \
           in page
    assert '<span itemprop="author">曹雪芹</span> <span class="muted">(Cao Xueqin)</span>' in page
