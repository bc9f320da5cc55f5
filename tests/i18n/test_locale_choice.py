"""Which language a page is in (issue 6): the member's saved choice, else the header switch's
cookie, else Accept-Language; the switch returns to the same page; caches never mix languages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Member, OutboxMail
from tests.factories import make_book, make_category, make_member
from tests.pages import log_in, post_login

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.fixture
def member_id(app) -> int:
    with app.app_context():
        member = make_member(email="lin@example.test", name="Lin")
        db.session.commit()
        return member.id


def test_a_visitor_without_any_choice_gets_english(client):
    response = client.get("/account/login")
    assert html_lang(response) == "en"
    assert "Log in" in response.get_data(as_text=True)


@pytest.mark.parametrize("header", ["zh", "zh-CN", "zh-Hans", "zh-SG", "zh-Hans-CN",
                                    "zh-TW", "zh-HK", "zh-CN,en;q=0.8", "fr,zh;q=0.7"])
def test_a_chinese_browser_gets_simplified_chinese(client, header):
    response = client.get("/account/login", headers={"Accept-Language": header})
    assert html_lang(response) == "zh-Hans"
    assert "登录" in response.get_data(as_text=True)


@pytest.mark.parametrize("header", ["en-GB", "en-US,zh;q=0.5", "fr-FR", "*", ""])
def test_other_browsers_get_english(client, header):
    assert html_lang(client.get("/", headers={"Accept-Language": header})) == "en"


def test_the_switch_sets_a_cookie_and_returns_to_the_same_page(client):
    response = client.get("/language/zh_Hans?next=/search?q=dune",
                          headers={"Referer": "http://localhost/search?q=dune&page=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/search?q=dune&page=1"
    assert "lang=zh_Hans" in response.headers["Set-Cookie"]
    assert html_lang(client.get("/search?q=dune")) == "zh-Hans"

    back = client.get("/language/en?next=/account/login")  # no Referer: the path it was given
    assert back.headers["Location"] == "/account/login"
    assert html_lang(client.get("/account/login", headers=ZH)) == "en"  # cookie beats browser


def test_the_switch_never_sends_a_visitor_off_site(client):
    for query, referer in [("?next=https://evil.example/", "https://evil.example/x"),
                           ("?next=//evil.example/", None)]:
        headers = {"Referer": referer} if referer else {}
        response = client.get(f"/language/zh_Hans{query}", headers=headers)
        assert response.headers["Location"] == "/"


def test_an_unknown_language_is_not_found(client):
    assert client.get("/language/fr").status_code == 404


def test_every_page_offers_the_other_language_in_its_own_name(client):
    english = client.get("/account/login").get_data(as_text=True)
    chinese = client.get("/account/login", headers=ZH).get_data(as_text=True)
    assert ">简体中文</a>" in english and ">English</a>" not in english
    assert ">English</a>" in chinese and ">简体中文</a>" not in chinese


def test_a_member_s_saved_choice_beats_cookie_and_browser(app, client, member_id):
    with app.app_context():
        db.session.get(Member, member_id).locale = "zh_Hans"
        db.session.commit()
    client.set_cookie("lang", "en")
    log_in(client, "lin@example.test")
    assert html_lang(client.get("/account/", headers={"Accept-Language": "en"})) == "zh-Hans"


def test_the_switch_saves_a_member_s_choice(app, client, member_id):
    log_in(client, "lin@example.test")
    client.get("/language/zh_Hans")
    with app.app_context():
        assert db.session.get(Member, member_id).locale == "zh_Hans"
    client.delete_cookie("lang")
    assert html_lang(client.get("/account/")) == "zh-Hans"


def test_the_profile_page_sets_and_clears_the_preference(app, client, member_id):
    log_in(client, "lin@example.test")
    page = client.get("/account/profile").get_data(as_text=True)
    assert 'name="locale"' in page and "简体中文" in page

    data = {"name": "Lin", "locale": "zh_Hans"}
    response = client.post("/account/profile", data=data)
    assert response.status_code == 302
    saved = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "您的资料已保存。" in saved
    with app.app_context():
        assert db.session.get(Member, member_id).locale == "zh_Hans"

    client.post("/account/profile", data={"name": "Lin", "locale": ""})
    with app.app_context():
        assert db.session.get(Member, member_id).locale is None
    assert client.post("/account/profile", data={"name": "Lin", "locale": "fr"}).status_code == 400


def test_the_cached_home_page_is_kept_per_language(app, client):
    with app.app_context():
        make_book(title="Shelf tale", category=make_category(slug="fiction", name="Fiction"))
        db.session.commit()
    zh_client, en_client = app.test_client(), app.test_client()
    for first in (zh_client, en_client):
        with app.app_context():
            from app.core.extensions import cache

            cache.clear()
        first.get("/", headers=ZH if first is zh_client else {})  # fills the cache
        for _ in range(2):
            chinese = zh_client.get("/", headers=ZH).get_data(as_text=True)
            english = en_client.get("/").get_data(as_text=True)
            assert '<html lang="zh-Hans">' in chinese and "新书上架" in chinese
            assert "New arrivals" not in chinese
            assert '<html lang="en">' in english and "New arrivals" in english
            assert "新书上架" not in english
    # The switch's cookie counts too, not only the browser's language.
    en_client.set_cookie("lang", "zh_Hans")
    assert "新书上架" in en_client.get("/").get_data(as_text=True)


def test_money_and_dates_follow_the_language(app, client):
    with app.app_context():
        book = make_book(title="Priced", price=Decimal("1234.50"))
        db.session.commit()
        book_id = book.id
    chinese = client.get(f"/book/{book_id}", headers=ZH).get_data(as_text=True)
    english = client.get(f"/book/{book_id}").get_data(as_text=True)
    assert "¥1,234.50" in chinese
    assert "CN¥1,234.50" in english  # Babel's English name for the yuan sign, exact cents


def test_pages_tell_caches_they_vary_by_language(client):
    vary = client.get("/account/login").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary


def test_a_page_that_varies_by_something_else_keeps_saying_so(app, client):
    @app.get("/varies-by-device")
    def varies_by_device():
        return "<p>narrow</p>", {"Content-Type": "text/html; charset=utf-8",
                                 "Vary": "Sec-CH-UA-Mobile"}

    vary = client.get("/varies-by-device").headers["Vary"]
    assert {part.strip() for part in vary.split(",")} >= {
        "Sec-CH-UA-Mobile", "Accept-Language", "Cookie"}


def test_a_response_that_is_not_a_page_does_not_vary_by_language(client):
    assert "Accept-Language" not in client.get("/healthz").headers.get("Vary", "")


def test_joining_while_reading_chinese_saves_chinese_for_later_mail(app, client):
    client.set_cookie("lang", "zh_Hans")
    client.post("/account/register", data={"email": "wang@example.test", "name": "王",
                                           "password": "a long phrase 42",
                                           "confirm": "a long phrase 42"})
    with app.app_context():  # issue 17: the account exists once the mailed link is followed,
        body = db.session.scalar(sa.select(OutboxMail.body_text))  # maybe in another browser
    link = re.search(r"http://localhost(/account/confirm/\S+)", body).group(1)
    app.test_client().post(link, data={"password": "a long phrase 42"})
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.email == "wang@example.test"))
        assert member.locale == "zh_Hans"


def test_logging_in_in_english_saves_nothing_and_a_saved_choice_is_kept(app, client, member_id):
    log_in(client, "lin@example.test")
    with app.app_context():
        assert db.session.get(Member, member_id).locale is None
        db.session.get(Member, member_id).locale = "en"
        db.session.commit()
    client.post("/account/logout")
    post_login(client, "lin@example.test", headers=ZH)
    with app.app_context():
        assert db.session.get(Member, member_id).locale == "en"


def test_a_page_and_a_mail_in_another_language_in_one_request_each_get_their_own_words(app):
    """Templates keep the language and its translations for the rest of a request
    (app.core.i18n.locale_name); a mail rendered in the reader's language in the middle of it
    (the shop's force_locale) must not change the page's words, prices or language switch."""
    from flask import render_template_string
    from flask_babel import refresh

    from app.core.i18n import force_locale

    words = ("{{ _('Log in') }}|{{ ngettext('%(num)d customer', '%(num)d customers', 2) }}"
             "|{{ 1234.5|money }}|{{ language_switch() }}")
    with app.test_request_context("/book/1", headers={"Accept-Language": "en"}):
        before = render_template_string(words)
        with force_locale("zh_Hans"):
            mail = render_template_string(words)
        after = render_template_string(words)
        with force_locale("zh_Hans"):
            again = render_template_string(words)
        refresh()
        refreshed = render_template_string(words)

    assert before == after == refreshed
    assert before.startswith("Log in|2 customers|") and "简体中文" in before
    assert mail == again
    assert "Log in" not in mail and "customers" not in mail
    assert "简体中文" not in mail and "English" in mail  # the switch offers the other language


def test_template_strings_format_as_jinja_newstyle_gettext_does(app):
    from flask import render_template_string

    words = ("{{ _('100%% sure') }}|{{ _('Page %(page)s of %(pages)s', page=page, pages=2) }}"
             "|{{ _('Log in') }}")
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        html = render_template_string(words, page="<b>1</b>")

    assert html == "100% sure|Page &lt;b&gt;1&lt;/b&gt; of 2|Log in"
