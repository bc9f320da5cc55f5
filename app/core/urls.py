"""Absolute links to the shop's pages, for mails."""

from __future__ import annotations

from flask import current_app


def external_url(endpoint: str, **values: object) -> str:
    """An absolute link for emails; works in a request, a CLI command or a mail worker.

    It uses SHOP_BASE_URL, not the request's host: a mail worker has no request, and a
    Host header must never decide where a password-reset link points.
    """
    base = current_app.config["SHOP_BASE_URL"].rstrip("/")
    adapter = current_app.url_map.bind("localhost")
    return base + adapter.build(endpoint, values)
