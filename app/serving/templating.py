"""The template helpers every page and mail may use: the `money`, `date` and `datetime`
filters, `machine_time` for `<time datetime>`, `summary` for a meta description, and the
shop's globals (its name, the language and the languages offered). A feature adds its own
filters in its init_app."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup, escape

from app.core.formatting import day, machine_time, money, when
from app.core.i18n import LANGUAGE_NAMES
from app.core.text import summary


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = day
    app.jinja_env.filters["datetime"] = when
    app.jinja_env.filters["machine_time"] = machine_time
    app.jinja_env.filters["summary"] = _summary

    @app.context_processor
    def shop_globals() -> dict:
        return {
            "shop_name": app.config["SHOP_NAME"],
            "current_locale": lambda: str(get_locale()),
            # BCP 47 for <html lang>: zh_Hans -> zh-Hans
            "html_lang": lambda: str(get_locale()).replace("_", "-"),
            "shop_languages": LANGUAGE_NAMES,
        }


def _summary(value: object) -> Markup:
    """`app.core.text.summary` of what a template gives it, escaped once: a `{% filter %}`
    block gives escaped Markup, cut as the text it stands for (Jinja does not escape what a
    filter block returns)."""
    text = value.unescape() if isinstance(value, Markup) else str(value or "")
    return escape(summary(text))
