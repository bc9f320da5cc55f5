"""How pages and mails write amounts, days and times, in the current language: `money`,
`day` and `when` (the template filters `money`, `date` and `datetime`).

Babel's formatting is slow and a page shows many amounts and dates, most of them recurring, so
each formatted text is kept per value and language.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_datetime_format, get_time_format, get_timezone_name
from babel.dates import get_timezone as babel_timezone
from babel.numbers import format_currency
from flask import current_app
from flask_babel import get_timezone, to_user_timezone

from app.core.i18n import locale_name


def money(value: Decimal | None) -> str:
    """Format an exact amount in the shop's currency for the current locale."""
    if value is None:
        return ""
    return _format_money(value, current_app.config["SHOP_CURRENCY"], locale_name())


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
    return _format_day(value, locale_name())


@lru_cache(maxsize=4096)
def _format_day(value: date, locale: str) -> str:
    # Like money: Babel is slow, and a list shows many dates, most of them recurring.
    return babel_format_date(value, "medium", locale=locale)


def when(value: datetime | None) -> str:
    """A moment in the shop's time zone as the reader's language writes it, to the minute and
    with the zone named: "Dec 7, 2026, 3:32 PM China Standard Time" / "2026年12月7日
    中国标准时间 15:32". The one way pages and mails show a time of day (the `datetime` filter);
    naive values are taken as UTC, as the database keeps them."""
    if not isinstance(value, datetime):
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return _format_when(value, str(get_timezone()), locale_name())


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


def machine_time(value: datetime | None) -> str:
    """A time for HTML's `<time datetime>`: ISO 8601 to the second, with its offset (HTML
    allows at most three digits of a second's fraction, Python's isoformat gives six)."""
    return value.isoformat(timespec="seconds") if value is not None else ""
