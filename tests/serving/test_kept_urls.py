"""Templates build URLs through kept_url_for (app.serving.templating): each URL is built once per
process, and is always the one Flask's url_for gives for that request."""

from __future__ import annotations

import re

from flask import render_template_string, url_for

from app.serving.templating import kept_url_for


def test_a_kept_url_is_the_one_url_for_builds(app):
    cases = [("shop.home", {}), ("shop.book", {"book_id": 7}),
             ("shop.category", {"slug": "poetry"}),
             ("shop.search", {"q": "red chamber", "page": 2}),
             ("static", {"filename": "css/site.css"})]
    with app.test_request_context("/"):
        for endpoint, values in cases:
            assert kept_url_for(endpoint, **values) == url_for(endpoint, **values)
            assert kept_url_for(endpoint, **values) == url_for(endpoint, **values)  # kept


def test_the_script_root_is_part_of_the_key(app):
    with app.test_request_context("/"):
        plain = kept_url_for("shop.book", book_id=3)
    with app.test_request_context("/", base_url="http://localhost/shop/"):
        mounted = kept_url_for("shop.book", book_id=3)
        assert mounted == url_for("shop.book", book_id=3)

    assert plain == "/book/3"
    assert mounted == "/shop/book/3"


def test_options_and_values_that_cannot_be_keys_go_to_url_for(app):
    with app.test_request_context("/", base_url="https://books.example"):
        assert kept_url_for("shop.book", book_id=3, _external=True) == "https://books.example/book/3"
        assert kept_url_for("shop.book", book_id=3, _anchor="reviews") == "/book/3#reviews"
        assert kept_url_for("shop.search", q=["a", "b"]) == url_for("shop.search", q=["a", "b"])


def test_a_relative_endpoint_is_kept_per_blueprint(app):
    with app.test_request_context("/book/1"):
        in_shop = render_template_string("{{ url_for('.home') }}")
    with app.test_request_context("/account/login"):
        in_account = render_template_string("{{ url_for('.login') }}")

    assert in_shop == "/"
    assert in_account == "/account/login"


def test_templates_use_it(app):
    assert app.jinja_env.globals["url_for"] is kept_url_for


def test_urls_from_long_request_paths_do_not_fill_the_store(app, client):
    # Every page, 404s too, links the language switch with next=request.path.
    for n in range(1000):
        path = f"/no-such-page-{n}-" + "x" * 4000
        response = client.get(path)
        assert response.status_code == 404

    page = response.get_data(as_text=True)
    assert re.search(r'href="/language/\w+\?next=(/|%2F)no-such-page-999-x{4000}"', page)
    urls = app.extensions.get("bookstation.kept_urls", {})
    size = sum(len(url) + sum(len(str(part)) for part in key) for key, url in urls.items())
    assert size < 1_000_000
