"""A category has a name per language: Chinese pages show its Chinese name everywhere a
shopper meets it (header, breadcrumb, heading, search filter, the book page's category and
"More in …"), English pages the English name, and a category without a Chinese name shows its
English one. Staff edit the names on the category's form; pages cached in either language
show the change at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.catalog import browse as catalog
from app.catalog import editing
from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.models import CategoryName
from tests.factories import make_book, make_category
from tests.pages import csrf_token

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def shop(app) -> dict:
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction", position=1)
        fiction.description = "Novels of every kind."
        fiction.translations.append(CategoryName(locale="zh_Hans", name="小说",
                                                 description="各类长篇小说。"))
        poetry = make_category(slug="poetry", name="Poetry", position=2)  # no Chinese name
        book = make_book(title="活着", authors="余华", category=fiction)
        make_book(title="许三观卖血记", authors="余华", category=fiction)
        make_book(title="Leaves of Grass", authors="Walt Whitman", category=poetry)
        db.session.commit()
        return {"fiction": fiction.id, "poetry": poetry.id, "book": book.id}


def test_the_header_list_names_each_category_in_the_language_asked(ctx, shop):
    assert catalog.nav_categories("zh_Hans") == [("fiction", "小说"), ("poetry", "Poetry")]
    assert catalog.nav_categories("en") == [("fiction", "Fiction"), ("poetry", "Poetry")]


def test_a_chinese_category_page_shows_the_chinese_name_everywhere(client, shop):
    page = client.get("/category/fiction", headers=ZH).get_data(as_text=True)

    assert 'href="/category/fiction">小说</a>' in page  # header bar and the side list
    assert '<span aria-current="page">小说</span>' in page  # breadcrumb
    assert "<h1>小说</h1>" in page
    assert "Fiction" not in page


def test_an_english_page_shows_the_english_name(client, shop):
    page = client.get("/category/fiction", headers=EN).get_data(as_text=True)

    assert "<h1>Fiction</h1>" in page and "小说" not in page
    assert '<p class="lead">Novels of every kind.</p>' in page


def test_a_chinese_category_page_shows_the_chinese_description(client, shop):
    page = client.get("/category/fiction", headers=ZH).get_data(as_text=True)

    assert '<p class="lead">各类长篇小说。</p>' in page and "Novels of every kind" not in page


@pytest.mark.parametrize("chinese_description", [None, ""])
def test_a_chinese_page_without_a_chinese_description_shows_the_english_one(
        app, client, chinese_description):
    with app.app_context():
        essays = make_category(slug="essays", name="Essays", position=3)
        essays.description = "Short prose on everything."
        essays.translations.append(CategoryName(locale="zh_Hans", name="散文",
                                                description=chinese_description))
        db.session.commit()

    page = client.get("/category/essays", headers=ZH).get_data(as_text=True)

    assert "<h1>散文</h1>" in page
    assert '<p class="lead">Short prose on everything.</p>' in page


def test_a_category_without_a_chinese_name_shows_its_english_name(client, shop):
    page = client.get("/category/poetry", headers=ZH).get_data(as_text=True)

    assert "<h1>Poetry</h1>" in page
    assert 'href="/category/fiction">小说</a>' in page


def test_the_book_page_and_the_search_filter_name_the_category_in_chinese(client, shop):
    book = client.get(f"/book/{shop['book']}", headers=ZH).get_data(as_text=True)
    search = client.get("/search?q=余华", headers=ZH).get_data(as_text=True)

    assert 'href="/category/fiction">小说</a></dd>' in book
    assert book.count("小说") >= 4 and "Fiction" not in book  # header, breadcrumb, dd, more in
    assert '<option value="fiction">小说</option>' in search


def test_the_same_page_cached_in_english_is_not_served_in_chinese(client, shop):
    for _ in range(2):
        assert "<h1>Fiction</h1>" in client.get("/category/fiction", headers=EN).get_data(
            as_text=True)
        assert "<h1>小说</h1>" in client.get("/category/fiction", headers=ZH).get_data(
            as_text=True)
    home_en = client.get("/", headers=EN).get_data(as_text=True)
    home_zh = client.get("/", headers=ZH).get_data(as_text=True)
    assert "小说" not in home_en and "小说" in home_zh


def test_staff_name_a_category_in_chinese_on_its_form_and_the_shop_shows_it(
        app, client, shop, staff):
    client.get("/category/poetry", headers=ZH)  # cached with the English name
    form = staff.get(f"/admin/categories/{shop['poetry']}/edit").get_data(as_text=True)
    assert 'name="name_zh_Hans"' in form

    response = staff.post(f"/admin/categories/{shop['poetry']}/edit", data={
        "csrf_token": csrf_token(staff, f"/admin/categories/{shop['poetry']}/edit"),
        "name": "Poetry", "name_zh_Hans": "诗歌", "slug": "poetry", "description": "",
        "description_zh_Hans": "古今诗歌。", "position": "2"})

    assert response.status_code == 302
    chinese = client.get("/category/poetry", headers=ZH).get_data(as_text=True)
    assert "<h1>诗歌</h1>" in chinese and "古今诗歌。" in chinese
    assert "<h1>Poetry</h1>" in client.get("/category/poetry", headers=EN).get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "category.update")).one()
        assert entry.after == {"names": {"zh_Hans": "诗歌"},
                               "descriptions": {"zh_Hans": "古今诗歌。"}}


def test_emptying_a_chinese_name_falls_back_to_english(ctx, shop):
    category = db.session.get(catalog.Category, shop["fiction"])
    editing.update_category(category, editing.CategoryInput(
        slug="fiction", name="Fiction", position=1, names={"zh_Hans": "  "}))
    db.session.flush()

    assert catalog.nav_categories("zh_Hans")[0] == ("fiction", "Fiction")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CategoryName)) == 0


def test_leaving_the_names_out_keeps_them(ctx, shop):
    category = db.session.get(catalog.Category, shop["fiction"])
    editing.update_category(category, editing.CategoryInput(
        slug="fiction", name="Novels", position=1))

    assert catalog.nav_categories("zh_Hans")[0] == ("fiction", "小说")


def test_a_chinese_description_without_a_chinese_name_is_refused(ctx, shop):
    category = db.session.get(catalog.Category, shop["poetry"])
    with pytest.raises(editing.FieldError) as refused:
        editing.update_category(category, editing.CategoryInput(
            slug="poetry", name="Poetry", position=2, names={"zh_Hans": ""},
            descriptions={"zh_Hans": "诗"}))

    assert refused.value.field == "name_zh_Hans"


def test_every_demo_category_has_a_chinese_name_and_description():
    from app.seed.categories import CATEGORIES, DESCRIPTIONS_ZH

    for category in CATEGORIES:
        assert category.name_zh and DESCRIPTIONS_ZH[category.slug], category.slug
        assert not category.name_zh.isascii()


def test_a_name_too_long_is_refused_beside_its_field(ctx, shop):
    category = db.session.get(catalog.Category, shop["fiction"])
    with pytest.raises(editing.FieldError) as refused:
        editing.update_category(category, editing.CategoryInput(
            slug="fiction", name="Fiction", position=1, names={"zh_Hans": "长" * 121}))

    assert refused.value.field == "name_zh_Hans"


def test_the_staff_category_list_shows_the_names_in_other_languages(client, shop, staff):
    page = staff.get("/admin/categories").get_data(as_text=True)

    assert '<span lang="zh-Hans">小说</span>' in page
    assert "English only" in page  # poetry
