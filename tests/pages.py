"""Helpers for tests that drive pages through the test client as a browser would."""

from __future__ import annotations

import re

from tests.factories import DEFAULT_PASSWORD


def csrf_token(client, path: str) -> str:
    """The CSRF token of the first form on the page at `path`."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def log_in(app, client, email: str) -> None:
    """Log in with the factories' password, with a token when the app checks CSRF."""
    data = {"email": email, "password": DEFAULT_PASSWORD}
    if app.config.get("WTF_CSRF_ENABLED"):
        data["csrf_token"] = csrf_token(client, "/account/login")
    assert client.post("/account/login", data=data).status_code == 302
