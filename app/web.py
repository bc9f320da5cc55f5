"""Request-level glue shared by every blueprint: login loading, locale, template helpers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import sqlalchemy as sa
from babel.numbers import format_currency
from flask import Flask, current_app, has_request_context, request
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from app.extensions import db, login_manager


def register_login(app: Flask) -> None:
    from app.models import Member

    login_manager.login_view = "account.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_member(token: str) -> Member | None:
        return db.session.scalar(sa.select(Member).where(Member.auth_token == token))


def select_locale() -> str | None:
    if not has_request_context():  # CLI, mail worker, service tests: the default locale
        return None
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"


def money(value: Decimal | None) -> str:
    """Format an exact amount in the shop's currency for the current locale."""
    if value is None:
        return ""
    return _format_money(value, current_app.config["SHOP_CURRENCY"], str(get_locale()))


@lru_cache(maxsize=4096)
def _format_money(value: Decimal, currency: str, locale: str) -> str:
    # Babel's formatting is slow and listings show many prices, most of them recurring.
    return format_currency(value, currency, locale=locale)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = lambda d: format_date(d, "medium") if d else ""
    app.jinja_env.filters["datetime"] = (
        lambda d: format_datetime(d, "medium") if isinstance(d, datetime) else ""
    )

    @app.context_processor
    def shop_globals() -> dict:
        return {"shop_name": app.config["SHOP_NAME"], "current_locale": lambda: str(get_locale())}


def external_url(endpoint: str, **values: object) -> str:
    """An absolute link for emails; works in a request, a CLI command or a mail worker.

    It uses SHOP_BASE_URL, not the request's host: a mail worker has no request, and a
    Host header must never decide where a password-reset link points.
    """
    base = current_app.config["SHOP_BASE_URL"].rstrip("/")
    adapter = current_app.url_map.bind("localhost")
    return base + adapter.build(endpoint, values)
