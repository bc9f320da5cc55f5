"""The language being rendered (app.core.i18n.locale_name) is kept for the request, and follows
the shop's `force_locale` (a mail in its reader's language) in and back out; a page's words,
prices and switch around a mail: tests/i18n/test_locale_choice.py."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.i18n import force_locale, locale_name

ROOT = Path(__file__).resolve().parents[2]


def test_the_language_is_the_requests_and_a_forced_one_inside_force_locale(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert locale_name() == "zh_Hans"
        with force_locale("en"):
            assert locale_name() == "en"
            with force_locale("zh_Hans"):
                assert locale_name() == "zh_Hans"
            assert locale_name() == "en"
        assert locale_name() == "zh_Hans"


def test_the_shop_forces_a_language_only_through_its_own_force_locale():
    # Flask-Babel's own would change the language without locale_name() knowing it.
    offenders = []
    for path in (ROOT / "app").rglob("*.py"):
        if path == ROOT / "app" / "core" / "i18n.py":
            continue
        text = path.read_text()
        if re.search(r"from flask_babel import[^\n]*\b(force_locale|refresh)\b", text) or \
                re.search(r"flask_babel\.(force_locale|refresh)\b", text):
            offenders.append(str(path.relative_to(ROOT)))

    assert offenders == []
