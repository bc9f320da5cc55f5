"""The demo shop speaks both languages on a fresh start: Chinese names and descriptions for
every category, the Chinese classics found by their English titles, their authors' Latin
names and their pinyin (SQLite and PostgreSQL), and the information pages in both languages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.catalog import browse as catalog
from app.catalog import info_pages
from app.core.extensions import db
from app.models import Category, CategoryName
from tests.seed.test_seed import seeded, seeded_file  # noqa: F401  (the seeded database)

QUERIES = ["Dream of the Red Chamber", "Cao Xueqin", "hongloumeng", "Journey to the West"]


def _finds_the_classics() -> None:
    for query in QUERIES[:3]:
        assert "红楼梦" in [b.title for b in catalog.search(query).items], query
    assert "西游记" in [b.title for b in catalog.search(QUERIES[3]).items]


def test_every_demo_category_is_named_in_chinese(seeded):  # noqa: F811
    categories = db.session.scalar(sa.select(sa.func.count()).select_from(Category))
    named = db.session.scalars(sa.select(CategoryName).where(
        CategoryName.locale == "zh_Hans")).all()

    assert len(named) == categories
    assert all(n.description for n in named)
    assert ("fiction", "小说") in catalog.nav_categories("zh_Hans")


def test_the_chinese_classics_are_found_by_their_other_names(seeded):  # noqa: F811
    _finds_the_classics()


def test_the_information_pages_exist_in_both_languages(seeded):  # noqa: F811
    for slug in info_pages.SLUGS:
        assert info_pages.page_for(slug, "en").locale == "en"
        assert info_pages.page_for(slug, "zh_Hans").locale == "zh_Hans"


@pytest.mark.pg
def test_on_postgresql_too(pg_app):
    result = pg_app.test_cli_runner().invoke(args=["seed", "--books-limit", "40"])

    assert result.exit_code == 0, result.output
    with pg_app.app_context():
        _finds_the_classics()
        assert ("fiction", "小说") in catalog.nav_categories("zh_Hans")
