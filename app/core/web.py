"""Request-level glue shared by every blueprint: login loading, locale, template helpers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa
from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format, get_time_format, get_timezone_name
from babel.dates import get_timezone as babel_timezone
from babel.numbers import format_currency
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import get_locale, get_timezone, get_translations, to_user_timezone
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from app.core.db import utcnow
from app.core.extensions import db, login_manager


def _gettext_now(string: str, **variables) -> str:
    """Flask-Babel's `gettext`, through the translations kept for the request (_translations)."""
    text = _translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables) -> LazyString:
    """Flask-Babel's `lazy_gettext`, translated through `_translations()` when shown. The app
    imports it as `_l`. A page shows dozens of lazy strings (form labels and choices, status
    names) and Flask-Babel looks its translations up from scratch for each: 62 of them took
    0.7 ms of the 7.7 ms customer list, measured in process."""
    return LazyString(_gettext_now, string, **variables)


_l = lazy_gettext

# The default grade names (app.grades.grading.DEFAULT_RULES) are shop data stored in English;
# the `tier_label` filter shows them translated. A name the shop wrote itself shows as written.
DEFAULT_TIER_LABELS = {
    "Regular": _l("Regular"),
    "Silver": _l("Silver"),
    "Gold": _l("Gold"),
    "Platinum": _l("Platinum"),
}


def tier_label(name: str | None) -> str:
    if not name:
        return ""
    label = DEFAULT_TIER_LABELS.get(name)
    return str(label) if label is not None else name


# Each language named in itself, for the header's switch (not translated, on purpose).
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}


def register_login(app: Flask) -> None:
    from app.membership.models import Member, MemberSession
    from app.membership.sessions import idle_limit

    login_manager.login_view = "account.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    # The session and remember cookies carry "<session key>.<auth token>" (issue 17): a member
    # is loaded only while that session's row exists (logging out deletes it).
    login_manager.id_attribute = "get_session_id"

    from app.grades.tiers import discount_rate_column
    from app.ordering.cart import count_column

    # Built once: every member's request runs it, and building the statement cost about as
    # much as running it. The header's cart badge and the grade's discount come in the same
    # query (the cart page needs both), and so does the session: one query per request.
    by_session = (
        sa.select(Member, count_column(Member.id), discount_rate_column(Member.tier_code),
                  MemberSession.id, MemberSession.last_seen_at)
        .join(MemberSession, MemberSession.member_id == Member.id)
        .where(MemberSession.key == sa.bindparam("key"),
               Member.auth_token == sa.bindparam("token"),
               MemberSession.last_seen_at >= sa.bindparam("since"))
    )
    touch = (sa.update(MemberSession)
             .where(MemberSession.id == sa.bindparam("session_id"))
             .values(last_seen_at=sa.bindparam("now")))
    touch_every = timedelta(seconds=app.config.get("SESSION_TOUCH_SECONDS", 300))

    @login_manager.user_loader
    def load_member(session_id: str) -> Member | None:
        key, _dot, token = (session_id or "").partition(".")
        if not key or not token:
            return None  # a cookie from before sessions were kept: log in again
        now = utcnow()
        row = db.session.execute(
            by_session, {"key": key, "token": token, "since": now - idle_limit()}).first()
        if row is None:
            return None
        member, in_cart, rate, row_id, last_seen = row
        member.session_key = key
        g.member_loaded_with = (member.id, int(in_cart or 0), rate)
        if now - last_seen >= touch_every:
            g.member_session_touch = row_id
        return member

    @app.after_request
    def note_last_seen(response):
        """Write the session's last-seen time, at most once every SESSION_TOUCH_SECONDS, in a
        short transaction of its own (the request's own may be rolled back or hold nothing)."""
        row_id = g.pop("member_session_touch", None)
        if row_id is not None:
            try:
                with db.engine.begin() as connection:
                    connection.execute(touch, {"session_id": row_id, "now": utcnow()})
            except sa.exc.SQLAlchemyError:  # a busy database: try again on a later request
                current_app.logger.warning("could not note a session's last-seen time",
                                           exc_info=True)
        return response


def _loaded_with(member_id: int) -> tuple[int, int, Decimal | None] | None:
    """What was read with the member at the start of this request, for a GET only: a GET
    changes neither the cart nor the grade; a POST may have, so it reads them again."""
    kept = g.get("member_loaded_with")
    if kept is None or kept[0] != member_id or request.method != "GET":
        return None
    return kept


def loaded_cart_count(member_id: int) -> int | None:
    """The copies in the member's cart, read with the member (GET only; else None)."""
    kept = _loaded_with(member_id)
    return kept[1] if kept is not None else None


def loaded_discount_rate(member_id: int) -> Decimal | None:
    """The discount rate of the member's grade in the tier table, read with the member (GET
    only; None also when the grade is not in the table)."""
    kept = _loaded_with(member_id)
    return kept[2] if kept is not None else None


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
    page calls `_()` dozens of times: measured, a quarter of the cart page's time."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["gettext"] = _template_gettext


@pass_context
def _template_gettext(context, string: str, **variables) -> str:
    """Jinja's "newstyle" gettext, which formats every string with `%` (escaping each
    value as Markup), without that step for a string that has neither variables nor a `%`:
    the same result, and most of the header's and forms' strings are such."""
    text = _translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    if variables or "%" in text:
        return text % variables
    return text


def _translations():
    """Flask-Babel's `get_translations()`, kept on `g` for the rest of the app context with
    the locale it is for: under `force_locale()` (a mail in the reader's language) or after
    `refresh()`, `get_locale()` returns another locale object, and the translations are looked
    up again."""
    if not has_app_context():
        return get_translations()
    locale = get_locale()
    kept = g.get("bookstation_translations")
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    g.bookstation_translations = (locale, translations)
    return translations


def normalise_language_tag(tag: str) -> str | None:
    """Map a browser language tag to one of ours: any Chinese (zh, zh-CN, zh-Hans, zh-SG, and
    also zh-TW/zh-HK/zh-Hant: a Chinese reader is better served by Simplified Chinese than by
    English until a Traditional catalog exists) is zh_Hans; any English is en."""
    primary = tag.replace("_", "-").split("-", 1)[0].lower()
    return {"zh": "zh_Hans", "en": "en"}.get(primary)


def locale_from_accept_language(accept, languages: list[str], default: str | None = None) -> str:
    for tag, _quality in accept:  # werkzeug sorts by quality, best first
        if tag == "*":
            break
        locale = normalise_language_tag(tag)
        if locale in languages:
            return locale
    return default or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def money(value: Decimal | None) -> str:
    """Format an exact amount in the shop's currency for the current locale."""
    if value is None:
        return ""
    return _format_money(value, current_app.config["SHOP_CURRENCY"], str(get_locale()))


@lru_cache(maxsize=4096)
def _format_money(value: Decimal, currency: str, locale: str) -> str:
    # Babel's formatting is slow and listings show many prices, most of them recurring.
    return format_currency(value, currency, locale=locale)


def day(value: date | None) -> str:
    """A date (or the reader's day of a datetime) as the current locale writes it, e.g.
    "Nov 23, 2026" / "2026年11月23日"."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return _format_day(value, str(get_locale()))


@lru_cache(maxsize=4096)
def _format_day(value: date, locale: str) -> str:
    # Like money: Babel is slow, and a list shows many dates, most of them recurring.
    return babel_format_date(value, "medium", locale=locale)


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


def when(value: datetime | None) -> str:
    """A moment in the shop's time zone as the reader's language writes it, to the minute and
    with the zone named: "Dec 7, 2026, 3:32 PM China Standard Time" / "2026年12月7日
    中国标准时间 15:32". The one way pages and mails show a time of day (the `datetime` filter);
    naive values are taken as UTC, as the database keeps them."""
    if not isinstance(value, datetime):
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return _format_when(value, str(get_timezone()), str(get_locale()))


_SECONDS = re.compile(r"[:.]ss(?:[.,]S+)?")
_ZONE = re.compile(r"z{1,4}|v{1,4}|V{1,4}|O{1,4}")
_ZONE_SLOT = "@@"


@lru_cache(maxsize=64)
def _when_parts(zone: str, locale: str) -> tuple:
    """What formatting a moment needs per zone and language, looked up once: the zone, the
    language, its "{1}, {0}"-style date-and-time pattern, and its full time pattern ("h:mm:ss
    a zzzz" / "zzzz HH:mm:ss": the zone named where that language puts it) without seconds
    and with a slot for the zone's name."""
    found = Locale.parse(locale)
    pattern = _SECONDS.sub("", get_time_format("full", locale=found).pattern)
    pattern = _ZONE.sub(f"'{_ZONE_SLOT}'", pattern, count=1)
    return (babel_timezone(zone), found, get_datetime_format("medium", locale=found), pattern)


_zone_names: dict[tuple, str] = {}


def _zone_name(local: datetime, zone: str, locale: str, found: Locale) -> str:
    """"China Standard Time" / "中国标准时间", or a summer time's name: looked up once per zone,
    language and offset."""
    key = (zone, locale, local.utcoffset(), local.dst())
    name = _zone_names.get(key)
    if name is None:
        name = _zone_names[key] = get_timezone_name(local, "long", locale=found)
    return name


@lru_cache(maxsize=4096)
def _format_when(value: datetime, zone: str, locale: str) -> str:
    tzinfo, found, joined, time_pattern = _when_parts(zone, locale)
    local = value.astimezone(tzinfo)
    name = _zone_name(local, zone, locale, found)
    time_text = babel_format_time(local.time(), time_pattern, locale=found)
    date_text = babel_format_date(local.date(), "medium", locale=found)
    return (joined.replace("{1}", date_text)
            .replace("{0}", time_text.replace(_ZONE_SLOT, name)))


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["tier_label"] = tier_label
    app.jinja_env.filters["date"] = day
    app.jinja_env.filters["datetime"] = when

    @app.context_processor
    def shop_globals() -> dict:
        return {
            "shop_name": app.config["SHOP_NAME"],
            "current_locale": lambda: str(get_locale()),
            # BCP 47 for <html lang>: zh_Hans -> zh-Hans
            "html_lang": lambda: str(get_locale()).replace("_", "-"),
            "shop_languages": LANGUAGE_NAMES,
        }


def external_url(endpoint: str, **values: object) -> str:
    """An absolute link for emails; works in a request, a CLI command or a mail worker.

    It uses SHOP_BASE_URL, not the request's host: a mail worker has no request, and a
    Host header must never decide where a password-reset link points.
    """
    base = current_app.config["SHOP_BASE_URL"].rstrip("/")
    adapter = current_app.url_map.bind("localhost")
    return base + adapter.build(endpoint, values)
