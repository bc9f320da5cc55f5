"""Text normalisation for search (pure): case, accents and width folded away."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, accent-free, width-folded text: 'Émile  ＺＯＬＡ' -> 'emile zola'.

    NFKC folds full-width forms; NFKD then splits accents off so they can be dropped. CJK
    characters pass through unchanged.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("ß", "ss")
    return _SPACE.sub(" ", text).strip()


def search_terms(query: str) -> list[str]:
    """The words of a query, folded, punctuation dropped, at most 8 of them."""
    folded = _PUNCT.sub(" ", fold(query))
    return [t for t in folded.split(" ") if t][:8]


def escape_like(text: str, escape: str = "\\") -> str:
    """Make `%`, `_` and the escape character literal inside a LIKE pattern."""
    return (
        text.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")
    )


def contains_pattern(text: str) -> str:
    """`%text%` for LIKE with the wildcards in `text` escaped; use with `escape="\\"`."""
    return f"%{escape_like(text)}%"


DESCRIPTION_LENGTH = 160


def summary(text: str | None, limit: int = DESCRIPTION_LENGTH) -> str:
    """`text` on one line, cut to at most `limit` characters with "…" (at a word break where
    the text has spaces near the end, anywhere in Chinese): a page's meta description."""
    text = _SPACE.sub(" ", text or "").strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"
