"""Pagers and export links carry the page's query arguments over, but never one whose name
starts with "_": url_for reads those as its own options (`_scheme`, `_external`), so a visitor
could choose how the page's links are built: absolute, to the host the request named, or (with
a Flask that honours `_scheme`) a failing page or javascript: URLs
(app.serving.templating.link_args)."""

from __future__ import annotations

import pytest

from app.core.extensions import db
from tests.factories import make_admin
from tests.pages import logged_in_client

SMALL_PAGES = pytest.mark.parametrize("app_config", [{"BOOKS_PER_PAGE": 2}])


@SMALL_PAGES
def test_a_scheme_without_external_in_a_listings_query_is_no_server_error(client, shelf):
    response = client.get("/category/fiction?page=1&_scheme=x")

    assert response.status_code in (200, 400)
    page = response.get_data(as_text=True)
    assert 'rel="next" href="/category/fiction?page=2"' in page  # the pager, on this site


@SMALL_PAGES
def test_a_query_cannot_make_the_pager_link_javascript(client, shelf):
    response = client.get("/search?q=tale&_external=1&_scheme=javascript")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "javascript:" not in page
    assert 'rel="next" href="/search?q=tale&amp;page=2"' in page


@pytest.mark.parametrize(("path", "export"), [
    ("/admin/customers?_scheme=x", "/admin/customers.csv"),
    ("/admin/customers?_external=1&_scheme=javascript", "/admin/customers.csv"),
    ("/admin/demand?_scheme=x", "/admin/demand.csv"),
    ("/admin/demand?_external=1&_scheme=javascript", "/admin/demand.csv")])
def test_admin_export_links_leave_out_url_for_options(app, shelf, path, export):
    with app.app_context():
        make_admin(email="boss@example.test")
        db.session.commit()
    admin = logged_in_client(app, "boss@example.test")

    response = admin.get(path)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="{export}"' in page  # the export link, on this site
    assert "javascript:" not in page and "://localhost" not in page
