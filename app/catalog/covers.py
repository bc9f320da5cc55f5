"""Generated book covers (pure): an SVG drawn from a book's title, authors and id.

No outside image host is reachable, so every cover is typeset here. The same book always gets
the same cover: the palette and the ornament come from the id, the text from title and authors.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 400, 600

# (background, band, ink on background, ink on band, accent): calm, bookish, readable pairs
# (every ink/background pair has a contrast ratio of at least 4.5:1).
PALETTES: tuple[tuple[str, str, str, str, str], ...] = (
    ("#1f4e5f", "#f3e9d2", "#fbf8f2", "#1f4e5f", "#c98a16"),
    ("#7a2e2e", "#f1dfc6", "#fff8ef", "#5c1f1f", "#e0b25b"),
    ("#27452f", "#e8e2c8", "#f7f4e6", "#27452f", "#c7a34a"),
    ("#2f2a4f", "#eadfcb", "#f8f4ec", "#2f2a4f", "#d39a6a"),
    ("#f2e6cf", "#1d2428", "#1d2428", "#f2e6cf", "#a8560b"),
    ("#3b3f45", "#d9c9a3", "#f5f1e8", "#2a2d31", "#e3b04b"),
    ("#8a4b12", "#f6ead7", "#fffaf0", "#5e320b", "#f1c27d"),
    ("#dfe8e4", "#234b4f", "#1d2b2e", "#eef4f2", "#b3261e"),
    ("#4a2040", "#f0dde6", "#fbf2f6", "#4a2040", "#d4a24c"),
    ("#103a5c", "#e6edf3", "#f4f8fb", "#103a5c", "#f0a23b"),
)

FONT_SERIF = "Georgia, 'Times New Roman', 'Noto Serif CJK SC', 'Songti SC', serif"
FONT_SANS = "system-ui, 'Segoe UI', Roboto, 'Noto Sans CJK SC', 'PingFang SC', sans-serif"

# Characters XML 1.0 forbids outright (controls, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACE = re.compile(r"\s+")


class CoverSource(Protocol):
    id: int | None
    title: str
    authors: str


def cover_svg(book: CoverSource) -> str:
    """The SVG cover for a book (any object with id, title and authors)."""
    return render_cover(book.id or 0, book.title or "", book.authors or "")


def render_cover(book_id: int, title: str, authors: str) -> str:
    """A complete, standalone SVG document; every piece of text in it is XML-escaped."""
    bg, band, ink, band_ink, accent = PALETTES[book_id % len(PALETTES)]
    title = _clean(title) or "Untitled"
    authors = _clean(authors)

    size, max_units = _title_size(title)
    lines = wrap(title, max_units, max_lines=6)
    line_height = round(size * 1.2)
    top = 150 if len(lines) <= 3 else 130
    title_tspans = "".join(
        f'<tspan x="{WIDTH // 2}" y="{top + i * line_height}">{_x(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    author_lines = wrap(_short_authors(authors), 26, max_lines=2)
    author_tspans = "".join(
        f'<tspan x="{WIDTH // 2}" y="{478 + i * 26}">{_x(line)}</tspan>'
        for i, line in enumerate(author_lines)
    )
    label = _x(f"{title} — {authors}" if authors else title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{bg}"/>'
        f'<rect x="0" y="0" width="14" height="{HEIGHT}" fill="{accent}" opacity="0.85"/>'
        f'<rect x="28" y="28" width="{WIDTH - 56}" height="{HEIGHT - 56}" fill="none" '
        f'stroke="{accent}" stroke-width="2" opacity="0.7"/>'
        f"{_ornament(book_id, accent)}"
        f'<text text-anchor="middle" font-family="{FONT_SERIF}" font-size="{size}" '
        f'font-weight="700" fill="{ink}">{title_tspans}</text>'
        f'<rect x="28" y="440" width="{WIDTH - 56}" height="{96 if len(author_lines) > 1 else 70}" '
        f'fill="{band}"/>'
        f'<text text-anchor="middle" font-family="{FONT_SANS}" font-size="20" '
        f'fill="{band_ink}">{author_tspans}</text>'
        f'<rect x="{WIDTH // 2 - 30}" y="556" width="60" height="3" fill="{accent}"/>'
        "</svg>"
    )


def _ornament(book_id: int, accent: str) -> str:
    """A small deterministic decoration above the title: dots, a diamond row, or rules."""
    kind = (book_id // len(PALETTES)) % 3
    cx = WIDTH // 2
    if kind == 0:
        dots = "".join(f'<circle cx="{cx + dx}" cy="66" r="4"/>' for dx in (-24, 0, 24))
        return f'<g fill="{accent}">{dots}</g>'
    if kind == 1:
        diamonds = "".join(
            f'<path d="M{cx + dx} 58 l8 8 l-8 8 l-8 -8 z"/>' for dx in (-36, -12, 12, 36)
        )
        return f'<g fill="{accent}">{diamonds}</g>'
    return (
        f'<g stroke="{accent}" stroke-width="2">'
        f'<line x1="{cx - 70}" y1="62" x2="{cx + 70}" y2="62"/>'
        f'<line x1="{cx - 40}" y1="70" x2="{cx + 40}" y2="70"/></g>'
    )


def _clean(text: str) -> str:
    return _SPACE.sub(" ", _NOT_XML.sub("", text or "")).strip()


def _x(text: str) -> str:
    return escape(text, {'"': "&quot;", "'": "&apos;"})


def _title_size(title: str) -> tuple[int, int]:
    """Font size and line width (in half-em units) that fit the title on the cover."""
    units = display_width(title)
    if units <= 24:
        return 44, 14
    if units <= 60:
        return 36, 17
    return 28, 22


def _short_authors(authors: str) -> str:
    names = [a.strip() for a in authors.split(",") if a.strip()]
    if len(names) > 2:
        return f"{names[0]}, {names[1]} …"
    return ", ".join(names)


def char_width(ch: str) -> int:
    """2 for wide (CJK, full-width) characters, 1 otherwise."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def wrap(text: str, max_units: int, max_lines: int) -> list[str]:
    """Break text into lines no wider than max_units; CJK may break between any characters.

    Latin words break at spaces (an over-long word is split); the last line ends with an
    ellipsis when the text does not fit in max_lines.
    """
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if token == " ":
            if line:
                line += " "
            continue
        candidate = line + token
        if display_width(candidate.rstrip()) <= max_units:
            line = candidate
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        while display_width(token) > max_units:  # a word longer than a whole line
            cut = _fit(token, max_units)
            lines.append(token[:cut])
            token = token[cut:]
        line = token
    if line.strip():
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and display_width(last) + 1 > max_units:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + "…"]
    return lines


def _tokens(text: str) -> list[str]:
    """Spaces, runs of non-wide characters (words), and single wide characters."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch == " " or char_width(ch) == 2:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def _fit(token: str, max_units: int) -> int:
    width = 0
    for i, ch in enumerate(token):
        width += char_width(ch)
        if width > max_units:
            return max(1, i)
    return len(token)
