"""Every public page carries exactly one non-empty meta description, in the reader's
language: the home, category, search and book pages (a book's from its own description,
trimmed), the information pages, and every other page a visitor or a member can open (the
account pages say what the shop is)."""

from __future__ import annotations

import re

import pytest

from app.core.extensions import db
from app.core.text import summary
from app.models import CategoryName
from app.seed.info_pages import ensure_info_pages
from tests.factories import make_book, make_category, make_member
from tests.pages import logged_in_client

DESCRIPTION = re.compile(r'<meta name="description" content="([^"]*)">')
LONG = ("An epic of the Qing dynasty. " * 20).strip()


@pytest.fixture
def shop(app) -> dict:
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        fiction.translations.append(CategoryName(locale="zh_Hans", name="小说"))
        described = make_book(title="红楼梦", authors="曹雪芹", description=LONG, category=fiction)
        bare = make_book(title="Plain", authors="Ann Author", description=None, category=fiction)
        ensure_info_pages()
        make_member(email="reader@example.test")
        db.session.commit()
        return {"described": described.id, "bare": bare.id}


def descriptions(page: str) -> list[str]:
    return DESCRIPTION.findall(page)


def public_urls(app, shop) -> list[str]:
    """The shop's pages with arguments, and every GET page without any outside the admin."""
    urls = ["/category/fiction", f"/book/{shop['described']}", f"/book/{shop['bare']}",
            "/search?q=red", "/help/shipping-returns", "/help/privacy", "/help/terms",
            "/no-such-page"]
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.endpoint.startswith(
                ("admin.", "static")):
            urls.append(rule.rule)
    return urls


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("member", [False, True])
def test_every_public_page_has_exactly_one_description(app, shop, language, member):
    client = logged_in_client(app, "reader@example.test") if member else app.test_client()
    checked = 0
    for url in public_urls(app, shop):
        response = client.get(url, headers={"Accept-Language": language})
        if response.mimetype != "text/html" or 300 <= response.status_code < 400:
            continue  # a redirect, a download
        found = descriptions(response.get_data(as_text=True))
        assert len(found) == 1, (url, found)
        assert found[0].strip(), url
        assert len(found[0]) <= 200, url
        checked += 1
    assert checked >= 12


def test_a_book_page_is_described_by_its_description_trimmed(client, shop):
    page = client.get(f"/book/{shop['described']}").get_data(as_text=True)

    assert descriptions(page) == [summary(LONG)]
    assert descriptions(page)[0].endswith("…") and len(descriptions(page)[0]) <= 160


def test_a_book_without_a_description_is_described_by_title_and_authors(client, shop):
    page = client.get(f"/book/{shop['bare']}").get_data(as_text=True)

    assert "Plain" in descriptions(page)[0] and "Ann Author" in descriptions(page)[0]


def test_pages_are_described_in_the_readers_language(client, shop):
    english = descriptions(client.get("/category/fiction",
                                      headers={"Accept-Language": "en"}).get_data(as_text=True))
    chinese = descriptions(client.get("/category/fiction",
                                      headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True))
    help_zh = descriptions(client.get("/help/shipping-returns",
                                      headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True))

    assert "Fiction" in english[0]
    assert "小说" in chinese[0]
    assert "30 天" in help_zh[0]


def test_a_description_is_escaped_once(app, client):
    with app.app_context():
        book = make_book(title="Tom & Jerry", description='Cats & mice "quoted" <b>')
        db.session.commit()
        book_id = book.id

    page = client.get(f"/book/{book_id}").get_data(as_text=True)

    assert ('<meta name="description" content="Cats &amp; mice &#34;quoted&#34; &lt;b&gt;">'
            in page)


@pytest.mark.parametrize(("text", "expected"), [
    ("  Short\n and   plain ", "Short and plain"),
    ("word " * 40, ("word " * 31).strip() + "…"),
    ("红" * 200, "红" * 159 + "…"),
    (None, ""),
])
def test_a_description_is_one_line_of_at_most_160_characters(text, expected):
    assert summary(text) == expected
    assert len(summary(text)) <= 160
