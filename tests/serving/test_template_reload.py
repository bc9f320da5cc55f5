"""While templates reload when edited (TEMPLATES_AUTO_RELOAD, or debug), no rendered fragment is
kept (app.serving.page_store.kept): a developer's edit shows on the next request."""

from __future__ import annotations

import pytest
from jinja2 import ChoiceLoader, DictLoader

RELOADING = pytest.mark.parametrize(
    "app_config", [{"TEMPLATES_AUTO_RELOAD": True, "PAGE_CACHE_SECONDS": 0}])


@RELOADING
def test_an_edited_template_shows_on_the_next_page(app, client, shelf):
    assert app.jinja_env.auto_reload
    name = "shop/_macros.html"
    source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
    assert 'class="book-card"' in source
    edited = {name: source}
    app.jinja_env.loader = ChoiceLoader([DictLoader(edited), app.jinja_env.loader])
    assert 'class="book-card"' in client.get("/category/fiction").get_data(as_text=True)

    edited[name] = source.replace('class="book-card"', 'class="book-card edited"')
    page = client.get("/category/fiction").get_data(as_text=True)

    assert 'class="book-card edited"' in page
    assert 'class="book-card"' not in page


def test_without_reloading_fragments_are_kept(app, client, shelf):
    assert not app.jinja_env.auto_reload
    client.get("/category/fiction")
    assert app.extensions.get("bookstation.kept.book_cards")
