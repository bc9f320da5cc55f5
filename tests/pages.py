"""Helpers for tests that drive pages through the test client as a browser would."""

from __future__ import annotations

import re

from tests.factories import DEFAULT_PASSWORD

_CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def token_in(page: str) -> str:
    """The CSRF token of the first form in the HTML `page` (fails when there is none)."""
    match = _CSRF_TOKEN.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf_token(client, path: str) -> str:
    """The CSRF token of the first form on the page at `path`."""
    return token_in(client.get(path).get_data(as_text=True))


def post_login(client, email: str, password: str = DEFAULT_PASSWORD, *, csrf: bool = False,
               headers: dict | None = None, **fields):
    """POST the login form as `email` and return the response; nothing is asserted.

    `fields` are more form fields (`remember="y"`, `csrf_token=...`); `csrf=True` fetches the
    login page's token first; `headers` go with the POST (a User-Agent, Accept-Language).
    """
    data = {"email": email, "password": password, **fields}
    if csrf:
        data["csrf_token"] = csrf_token(client, "/account/login")
    return client.post("/account/login", data=data, headers=headers)


def log_in(client, email: str, password: str = DEFAULT_PASSWORD, *,
           headers: dict | None = None):
    """Log `client` in as `email` (the factories' password by default) and return the client.

    Sends the login page's CSRF token when the client's app checks CSRF, and asserts that the
    login redirects (302), so a test never runs on as a visitor by mistake.
    """
    csrf = bool(client.application.config.get("WTF_CSRF_ENABLED"))
    response = post_login(client, email, password, csrf=csrf, headers=headers)
    assert response.status_code == 302
    return client


def logged_in_client(app, email: str, password: str = DEFAULT_PASSWORD):
    """A new test client of `app`, logged in as `email` with `log_in`."""
    return log_in(app.test_client(), email, password)
