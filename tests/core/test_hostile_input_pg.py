"""On PostgreSQL, which refuses a NUL byte in any text parameter: no search, filter, form or
path of the shop or the admin hands one to the database (issue 17, item 9)."""

from __future__ import annotations

import pytest

from tests.core import test_hostile_input as sweep
from tests.core.test_hostile_input import ADMIN_POSTS, ADMIN_QUERIES, SHOP_POSTS, SHOP_QUERIES

# The SQLite sweep's fixtures, on the PostgreSQL app below.
shop, records, as_admin, as_reader = sweep.shop, sweep.records, sweep.as_admin, sweep.as_reader
_cases, _posts = sweep._cases, sweep._posts

NUL = ["\x00", "a\x00b", "ada@example.test\x00"]
OK = (200, 302, 400, 403, 404, 409)


@pytest.fixture
def app(pg_app):
    return pg_app


@pytest.mark.parametrize(("path", "name"), _cases(ADMIN_QUERIES) + _cases(SHOP_QUERIES))
def test_a_nul_byte_in_a_query_never_reaches_postgresql(as_admin, shop, path, name):
    for value in NUL:
        response = as_admin.get(path.format(**shop), query_string={name: value})
        response.close()  # as a server does after sending it (a CSV streams after its commit)
        assert response.status_code in OK, (value, response.status_code)


@pytest.mark.parametrize(("url", "data", "name"), _posts(ADMIN_POSTS))
def test_a_nul_byte_in_an_admin_form_never_reaches_postgresql(as_admin, records, url, data,
                                                              name):
    base = {key: value.format(**records) for key, value in data.items()}
    for value in NUL:
        response = as_admin.post(url.format(**records), data={**base, name: value})
        assert response.status_code in OK, (value, response.status_code)


@pytest.mark.parametrize(("url", "data", "name"), _posts(SHOP_POSTS) + [
    ("/account/login", {"email": "x@example.test", "password": "p"}, "email"),
    ("/account/forgot", {"email": "x@example.test"}, "email"),
    ("/account/register", {"email": "n@example.test", "name": "N",
                           "password": "long enough 12", "confirm": "long enough 12"},
     "email"),
    ("/demand/book/{book}", {"email": "v@example.test", "quantity": "1"}, "email"),
])
def test_a_nul_byte_in_a_shop_form_never_reaches_postgresql(app, client, records, url, data,
                                                            name):
    base = {key: value.format(**records) for key, value in data.items()}
    for value in NUL:
        response = client.post(url.format(**records), data={**base, name: value})
        assert response.status_code in OK, (value, response.status_code)


@pytest.mark.parametrize("path", ["/category/a%00b", "/account/reset/a%00b",
                                  "/demand/confirm/a%00b", "/demand/unsubscribe/a%00b",
                                  "/feedback/t/a%00b", "/language/a%00b",
                                  "/admin/analytics/segments/a%00b", "/admin/mail/catcher/a%00b",
                                  "/admin/dashboard/a%00b.csv", "/static/a%00b",
                                  "/search?q=%00&category=%00"])
def test_a_nul_byte_in_a_path_never_reaches_postgresql(as_admin, path):
    assert as_admin.get(path).status_code in OK
