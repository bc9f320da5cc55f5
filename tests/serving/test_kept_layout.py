"""The layout's parts that follow only from the language ({% kept %}: the brand and search form,
the footer, the stylesheet links) and the language switch are rendered once per language and
script root, and every page still shows its own language, path and search words."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from flask import render_template_string, url_for
from jinja2 import ChoiceLoader, DictLoader

from app.serving import page_store
from app.serving.language.views import query_value
from app.serving.templating import KEPT_BLOCKS


def _page(client, path: str, lang: str | None = None) -> BeautifulSoup:
    if lang:
        client.set_cookie("lang", lang)
    response = client.get(path)
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_each_language_gets_its_own_layout(app, client, shelf):
    english = _page(client, "/", "en")
    chinese = _page(client, "/category/fiction", "zh_Hans")
    english_again = _page(client, "/help/privacy", "en")

    assert english.select_one(".skip-link").get_text() == "Skip to content"
    assert chinese.select_one(".skip-link").get_text() == "跳到正文"
    assert english_again.select_one(".skip-link").get_text() == "Skip to content"
    assert chinese.select_one("[data-testid=footer-contact]").get_text() == "联系我们"
    assert english_again.select_one("[data-testid=footer-contact]").get_text() == "Contact us"
    assert chinese.select_one("form.search-form label").get_text() == "搜索图书"
    # One kept copy of each block per language, shared by every page.
    assert page_store.kept_size(app, KEPT_BLOCKS) == 2 * 4


def test_the_search_box_keeps_each_searchs_own_words(client, shelf):
    first = _page(client, "/search?q=dragon")
    second = _page(client, "/search?q=%3Cb%3Etea%3C%2Fb%3E")
    elsewhere = _page(client, "/category/fiction")

    assert first.select_one("#site-search")["value"] == "dragon"
    assert second.select_one("#site-search")["value"] == "<b>tea</b>"
    assert elsewhere.select_one("#site-search")["value"] == ""


def test_the_layout_links_start_with_the_script_root(app, shelf):
    client = app.test_client()
    plain = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser")
    mounted = BeautifulSoup(client.get("/", base_url="http://localhost/shop/")
                            .get_data(as_text=True), "html.parser")

    assert plain.select_one("a.brand")["href"] == "/"
    assert mounted.select_one("a.brand")["href"] == "/shop/"
    assert mounted.select_one("form.search-form")["action"] == "/shop/search"
    assert mounted.select_one("[data-testid=footer-contact]")["href"] == "/shop/contact"
    assert mounted.select_one("[data-testid=language-switch] a")["href"].startswith(
        "/shop/language/")


@pytest.mark.parametrize("path", [
    "/book/7", "/search", "/no such/page", "/päge/书", "/a&b=c?d#e", "/it's+100%/x",
    "/<script>alert(1)</script>", "/a/b;c,d:e@f!g$h(i)j*k",
])
def test_the_language_switch_links_back_to_each_page_as_url_for_would(app, path):
    with app.test_request_context(path):
        expected = render_template_string(
            "{{ url_for('i18n.switch', locale='zh_Hans', next=request.path) }}")
        switch = BeautifulSoup(render_template_string("{{ language_switch() }}"),
                               "html.parser")
        assert query_value(path) == url_for("i18n.switch", locale="zh_Hans",
                                            next=path).split("?next=", 1)[1]

    link = switch.select_one("a[hreflang=zh-Hans]")
    assert link["href"] == BeautifulSoup(f'<a href="{expected}"></a>', "html.parser").a["href"]
    assert link.get_text() == "简体中文"
    assert switch.select_one("a[hreflang=en]") is None  # the page's own language is not offered


def test_the_language_switch_offers_the_other_language_on_a_chinese_page(client, shelf):
    page = _page(client, "/book/1", "zh_Hans")

    links = page.select("[data-testid=language-switch] a")
    assert [(a["hreflang"], a.get_text()) for a in links] == [("en", "English")]
    assert links[0]["href"] == "/language/en?next=/book/1"


@pytest.mark.parametrize(
    "app_config", [{"TEMPLATES_AUTO_RELOAD": True, "PAGE_CACHE_SECONDS": 0}])
def test_an_edited_layout_shows_on_the_next_page_while_templates_reload(app, client, shelf):
    source = app.jinja_env.loader.get_source(app.jinja_env, "base.html")[0]
    edited = {"base.html": source}
    app.jinja_env.loader = ChoiceLoader([DictLoader(edited), app.jinja_env.loader])
    assert "Catalog data from" in client.get("/").get_data(as_text=True)

    edited["base.html"] = source.replace("Catalog data from", "Book data from")
    page = client.get("/").get_data(as_text=True)

    assert "Book data from" in page
    assert page_store.kept_size(app, KEPT_BLOCKS) == 0


def test_outside_a_request_a_kept_block_renders_every_time(app):
    with app.app_context():
        template = app.jinja_env.from_string('{% kept "test-block" %}{{ n }}{% endkept %}')
        assert template.render(n=1) == "1"
        assert template.render(n=2) == "2"
