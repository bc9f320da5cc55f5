"""Languages and translations: which language and time zone a page is in, and translating
through translations kept for the request.

The language (`select_locale`): the member's saved one, else the header switch's cookie, else
Accept-Language, else the shop's default. The time zone (`select_timezone`): the shop's
(SHOP_TIMEZONE), for pages and mails alike. Code outside templates marks text with
`lazy_gettext` (imported as `_l`); templates translate through `install_template_gettext`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import flask_babel
from babel.dates import get_timezone as babel_timezone
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup


def _gettext_now(string: str, **variables) -> str:
    """Flask-Babel's `gettext`, through the translations kept for the request (_translations)."""
    text = _translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's `lazy_gettext`, translated through `_translations()` when shown. The app
    imports it as `_l`. A page shows dozens of lazy strings (form labels and choices, status
    names), and Flask-Babel would look its translations up from scratch for each."""
    return LazyString(_gettext_now, string, **variables)


_l = lazy_gettext

# Each language named in itself, for the header's switch (not translated, on purpose).
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}


def select_locale() -> str | None:
    """The member's saved language, else the header switch's cookie, else Accept-Language."""
    if not has_request_context():  # CLI, mail worker, service tests: the default locale
        return None
    languages = current_app.config["LANGUAGES"]
    saved = getattr(current_user, "locale", None) if current_user else None
    if saved in languages:
        return saved
    return visitor_locale(request.cookies, request.accept_languages, current_app.config)


def visitor_locale(cookies, accept, config) -> str:
    """The language of a reader with no saved one: the header switch's cookie, else the
    browser's Accept-Language (werkzeug's parsed header), else the shop's default. Also used
    by app.serving.front_door, which answers before Flask."""
    languages = config["LANGUAGES"]
    cookie = cookies.get(config.get("LOCALE_COOKIE", "lang"))
    if cookie in languages:
        return cookie
    return locale_from_accept_language(accept, languages,
                                       config.get("BABEL_DEFAULT_LOCALE", "en"))


def install_template_gettext(app: Flask) -> None:
    """Templates translate through `_translations()`: Flask-Babel's own callables look the
    translations up from scratch for every `_()` (the domain, the locale, its name), and a
    page calls `_()` dozens of times."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["gettext"] = app.jinja_env.globals["_"] = _template_gettext
    app.jinja_env.globals["ngettext"] = _template_ngettext
    app.context_processor(_render_gettext)


# The template callables take the evaluation context (autoescaping on or off), not the whole
# context as Jinja's own do: Jinja copies the context for a call that takes it from inside a
# loop or a block with variables of its own (Context.derived), every `_()` of a page's
# listings and blocks. `_` is the same callable as `gettext` (Jinja's `_` is an alias that
# takes the context to look `gettext` up).


@pass_eval_context
def _template_gettext(eval_ctx, string: str, /, **variables) -> str:
    """Jinja's "newstyle" gettext, which formats every string with `%` (escaping each
    value as Markup), without that step for a string that has neither variables nor a `%`:
    the same result, and most of the header's and forms' strings are such."""
    return _newstyle(eval_ctx, _translations().ugettext(string), variables)


@pass_eval_context
def _template_ngettext(eval_ctx, singular: str, plural: str, count: int, /,
                       **variables) -> str:
    """Jinja's "newstyle" ngettext: `count` is the text's `num` unless one is given."""
    variables.setdefault("num", count)
    text = _translations().ungettext(singular, plural, count)
    if eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def _newstyle(eval_ctx, text: str, variables: dict) -> str:
    if eval_ctx.autoescape:
        text = Markup(text)
    if variables or "%" in text:
        return text % variables
    return text


def _render_gettext() -> dict:
    """`gettext` for one render_template(), bound to the translations of the locale it
    starts in (a page says `_()` dozens of times; the global looks them up for each). A
    render in another language (force_locale, a mail) gets its own. Macros imported without
    the context, and templates rendered outside render_template, use the global."""
    translations = _translations()

    @pass_eval_context
    def gettext(eval_ctx, string: str, /, **variables) -> str:
        return _newstyle(eval_ctx, translations.ugettext(string), variables)

    return {"gettext": gettext, "_": gettext}


#: Where `locale_name` keeps the language being rendered and its translations, on `g`.
_LOCALE_KEY = "bookstation_locale"


def locale_name() -> str:
    """The language being rendered, as its name ("en", "zh_Hans"): `str(get_locale())`, kept
    on `g` for the rest of the app context. A page asks a few dozen times (its kept parts'
    keys, numbers, prices, translations), and each Flask-Babel `get_locale()` goes through
    `g` and the app several times. Flask-Babel keeps the locale for the request too, so only
    `force_locale` below (a mail in its reader's language) changes it meanwhile: the shop
    uses no other (tests/i18n/test_locale_name.py)."""
    if not has_app_context():
        return str(get_locale())
    kept = g.get(_LOCALE_KEY)
    if kept is None:
        kept = _keep_locale()
    return kept[0]


def _keep_locale() -> tuple:
    locale = get_locale()
    kept = g.bookstation_locale = (str(locale), locale, get_translations())
    return kept


@contextmanager
def force_locale(locale: str | None) -> Iterator[None]:
    """Flask-Babel's `force_locale`, so that `locale_name()` and the kept translations follow
    it: what is rendered inside is in `locale`; after it, the request's language again."""
    saved = g.pop(_LOCALE_KEY, None) if has_app_context() else None
    try:
        with flask_babel.force_locale(locale):
            yield
    finally:
        if has_app_context():
            g.pop(_LOCALE_KEY, None)
            if saved is not None:
                g.bookstation_locale = saved


def _translations():
    """Flask-Babel's `get_translations()` for the language being rendered, kept with it
    (`locale_name`)."""
    if not has_app_context():
        return get_translations()
    kept = g.get(_LOCALE_KEY)
    if kept is None:
        kept = _keep_locale()
    return kept[2]


def normalise_language_tag(tag: str) -> str | None:
    """Map a browser language tag to one of ours: any Chinese (zh, zh-CN, zh-Hans, zh-SG, and
    also zh-TW/zh-HK/zh-Hant: a Chinese reader is better served by Simplified Chinese than by
    English until a Traditional catalog exists) is zh_Hans; any English is en."""
    primary = tag.replace("_", "-").split("-", 1)[0].lower()
    return {"zh": "zh_Hans", "en": "en"}.get(primary)


def locale_from_accept_language(accept, languages: list[str], default: str | None = None) -> str:
    """The first of the browser's languages (werkzeug's parsed Accept-Language) that the shop
    offers, else `default` (else the shop's default)."""
    for tag, _quality in accept:  # werkzeug sorts by quality, best first
        if tag == "*":
            break
        locale = normalise_language_tag(tag)
        if locale in languages:
            return locale
    return default or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def select_timezone() -> str:
    """Flask-Babel's time zone selector: the shop's (SHOP_TIMEZONE), in pages and in mails
    rendered outside a request alike."""
    return current_app.config.get("SHOP_TIMEZONE") or "UTC"


def check_timezone(app: Flask) -> None:
    """Refuse to start with a SHOP_TIMEZONE that is not an IANA zone name (every page would
    fail on its first time)."""
    name = app.config.get("SHOP_TIMEZONE") or "UTC"
    try:
        babel_timezone(name)
    except LookupError as exc:
        raise RuntimeError(f"SHOP_TIMEZONE {name!r} is not a time zone name such as "
                           f"'Asia/Shanghai'") from exc
