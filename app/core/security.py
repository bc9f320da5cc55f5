"""Small security helpers shared by the blueprints."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from werkzeug.routing import UnicodeConverter

# C0 and C1 control characters and DEL. A line break would split the Location header (a 500,
# or a forged header), and browsers drop tabs and line breaks from URLs ("/\t/evil" → "//evil").
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def safe_next_url(target: str | None) -> str | None:
    """Only same-site relative paths may be redirected to after login (no open redirect)."""
    if not target or has_control_characters(target):
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


class TextConverter(UnicodeConverter):
    """Werkzeug's default `<name>` URL part without control characters: a NUL byte in a path
    (/category/a%00b) is a 404, never a query PostgreSQL refuses with a 500."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = None,
                 length: int | None = None) -> None:
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f-\x9f]", 1)


def install_url_converters(app) -> None:
    """Before any route is added: `<slug>`, `<token>` and `<string:...>` take TextConverter."""
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
