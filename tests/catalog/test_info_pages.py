"""The shop's information pages: shipping and returns (with the 30-day return window),
privacy and terms, in English and Chinese, linked from every page's footer, written by admins
in a plain-text format that can never carry HTML, every save audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.catalog import info_pages
from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.models import InfoPage
from app.seed.info_pages import ensure_info_pages
from tests.factories import make_admin
from tests.pages import csrf_token, logged_in_client

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
URLS = ["/help/shipping-returns", "/help/privacy", "/help/terms"]


@pytest.fixture
def pages(app):
    with app.app_context():
        written = ensure_info_pages()
        make_admin(email="boss@example.test")
        db.session.commit()
    return written


def text(client, url, headers=EN) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_the_seed_writes_each_page_in_both_languages_once(app, pages):
    assert pages == 6
    with app.app_context():
        assert ensure_info_pages() == 0


@pytest.mark.parametrize("url", URLS)
def test_each_page_is_in_english_and_in_chinese(client, pages, url):
    english, chinese = text(client, url), text(client, url, ZH)

    assert '<html lang="en"' in english and '<html lang="zh-Hans"' in chinese
    assert english.count("<h1>") == chinese.count("<h1>") == 1
    assert english != chinese


def test_shipping_and_returns_state_the_30_day_return_window(client, pages):
    assert "<strong>30 days</strong>" in text(client, "/help/shipping-returns")
    assert "<strong>30 天内</strong>" in text(client, "/help/shipping-returns", ZH)


def test_every_page_links_the_information_pages_in_its_footer(client, pages):
    for url in ["/", "/search?q=x", *URLS]:
        page = text(client, url)
        footer = page[page.index('<footer'):]
        for target in URLS:
            assert f'href="{target}"' in footer, (url, target)


def test_a_page_not_written_in_chinese_is_shown_in_english(app, client, pages):
    with app.app_context():
        db.session.execute(sa.delete(InfoPage).where(InfoPage.slug == "terms",
                                                      InfoPage.locale == "zh_Hans"))
        db.session.commit()

    page = text(client, "/help/terms", ZH)
    assert "<h1>Terms of sale</h1>" in page and 'lang="en"' in page


def test_an_unknown_page_is_not_found(client, pages):
    assert client.get("/help/cookies").status_code == 404


def test_nothing_typed_becomes_html():
    html = info_pages.render_body(
        "## Rules & <b>more</b>\nFirst line\ncontinued **bold**\n\n"
        "- one <script>alert(1)</script>\n- two\n  wrapped\n\n<img src=x onerror=alert(1)>")

    assert html == (
        "<h2>Rules &amp; &lt;b&gt;more&lt;/b&gt;</h2>\n"
        "<p>First line continued <strong>bold</strong></p>\n"
        "<ul><li>one &lt;script&gt;alert(1)&lt;/script&gt;</li><li>two wrapped</li></ul>\n"
        "<p>&lt;img src=x onerror=alert(1)&gt;</p>")


def test_staff_who_are_not_admins_cannot_edit_the_pages(app, pages, staff):
    assert staff.get("/admin/info-pages").status_code == 403
    assert staff.get("/admin/info-pages/privacy/en").status_code == 403


def test_an_admin_rewrites_a_page_and_readers_see_it_at_once(app, client, pages):
    assert "Rewritten" not in text(client, "/help/privacy", ZH)  # now cached
    admin = logged_in_client(app, "boss@example.test")
    assert 'href="/admin/info-pages/privacy/zh_Hans"' in admin.get(
        "/admin/info-pages").get_data(as_text=True)
    url = "/admin/info-pages/privacy/zh_Hans"

    response = admin.post(url, data={
        "csrf_token": csrf_token(admin, url), "title": "隐私", "summary": "简短说明",
        "body": "Rewritten <em>text</em>"})

    assert response.status_code == 302
    page = text(client, "/help/privacy", ZH)
    assert "<h1>隐私</h1>" in page and "<p>Rewritten &lt;em&gt;text&lt;/em&gt;</p>" in page
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "info_page.update")).one()
        assert entry.after["title"] == "隐私" and entry.before["title"] == "隐私政策"


def test_an_empty_title_is_refused_and_the_text_kept(app, pages):
    admin = logged_in_client(app, "boss@example.test")
    url = "/admin/info-pages/terms/en"

    response = admin.post(url, data={"csrf_token": csrf_token(admin, url), "title": " ",
                                     "summary": "", "body": "Kept body"})

    assert response.status_code == 400
    assert "Kept body" in response.get_data(as_text=True)
