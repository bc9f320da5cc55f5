"""Small helpers the admin list pages share: the page number and LIKE patterns."""

from __future__ import annotations

from flask import abort, request

MAX_PAGE = 100_000
PER_PAGE = 25


def page_number() -> int:
    """The `page` query argument; a missing one is 1, a malformed or absurd one is a 404.

    Checked here because an enormous page number would overflow the database's OFFSET.
    """
    raw = request.args.get("page", "")
    if raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        abort(404)
    page = int(raw)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    return page


def form_status(form) -> int:
    """400 when a submitted form has errors, so a failed post is told apart from a good one."""
    return 400 if form.errors else 200


# Route converter for database ids: larger numbers are a 404, not an overflow in the database.
ID = "int(max=2147483647)"
