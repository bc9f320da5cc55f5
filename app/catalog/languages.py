"""A book's language as readers name it: the catalog keeps codes as its sources gave them (ISO
639-1 "zh", 639-2 "eng", BCP 47 "en-US"); pages show the language's name in the reader's own
language ("English (United States)", "英语 (美国)"), from Babel's CLDR data. A code Babel does
not know is shown as it is."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError

from app.core.i18n import locale_name

#: ISO 639-2 (bibliographic) codes in the catalog's sources, as the 639-1 codes Babel knows.
ISO_639_2 = {
    "ara": "ar", "dan": "da", "dut": "nl", "eng": "en", "fil": "fil", "fre": "fr", "ger": "de",
    "ind": "id", "ita": "it", "jpn": "ja", "kor": "ko", "nor": "no", "per": "fa", "pol": "pl",
    "por": "pt", "rum": "ro", "rus": "ru", "spa": "es", "swe": "sv", "tur": "tr", "vie": "vi",
    "chi": "zh", "zho": "zh",
}


def language_name(code: str | None) -> str:
    """The name of the language `code` in the reader's language ("" for no code)."""
    if not code:
        return ""
    return _name(code.strip(), locale_name())


@lru_cache(maxsize=512)
def _name(code: str, reader: str) -> str:
    language, _, region = code.replace("_", "-").partition("-")
    language = ISO_639_2.get(language.lower(), language.lower())
    reader_locale = Locale.parse(reader)
    if language == "mul":
        return reader_locale.languages.get("mul", code)
    try:
        tag = f"{language}_{region.upper()}" if region else language
        return Locale.parse(tag).get_display_name(reader_locale) or code
    except (UnknownLocaleError, ValueError):
        return code
