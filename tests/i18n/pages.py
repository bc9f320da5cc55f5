"""Finding English message ids in a rendered page (issue 6): every text node and text attribute
is compared with the catalog's msgids, placeholders matching anything."""

from __future__ import annotations

import re
from html.parser import HTMLParser

TEXT_ATTRS = {"placeholder", "title", "alt", "aria-label", "value"}
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in TEXT_ATTRS and value and not (name == "value" and tag != "button"
                                                     and dict(attrs).get("type") != "submit"):
                self.chunks.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return [t for t in (" ".join(c.split()) for c in parser.chunks) if t]


def english_patterns(zh_catalog) -> list[tuple[str, re.Pattern]]:
    """A regex per English msgid whose Chinese differs (all forms of a plural)."""
    patterns = []
    for m in zh_catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for msgid in ids:
            parts = PLACEHOLDER.split(msgid.replace("%%", "%"))
            # Skip ids the same in Chinese, and ids that are mostly placeholders ("%(a)s of
            # %(b)s" would match any English sentence with "of" in it).
            if msgid in strings or len(re.findall(r"[A-Za-z]", "".join(parts))) < 5:
                continue
            patterns.append((msgid, re.compile(".+?".join(re.escape(p) for p in parts))))
    return patterns


def english_left(html: str, patterns) -> list[tuple[str, str]]:
    found = []
    for chunk in visible_text(html):
        for msgid, pattern in patterns:
            if pattern.fullmatch(chunk):
                found.append((chunk, msgid))
    return found
