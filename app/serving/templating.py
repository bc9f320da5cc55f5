"""The template helpers every page and mail may use: the `money`, `date` and `datetime`
filters, `machine_time` for `<time datetime>`, `summary` for a meta description, the shop's
globals (its name, the language and the languages offered), URLs built once (`kept_url_for`)
and parts of the layout rendered once (`{% kept %}`). A feature adds its own filters in its
init_app."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import MutableMapping
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for
from flask.templating import Environment
from jinja2 import nodes
from jinja2.ext import Extension
from markupsafe import Markup, escape

from app.core.formatting import day, machine_time, money, when
from app.core.i18n import LANGUAGE_NAMES, locale_name
from app.core.text import summary
from app.serving import page_store

_URLS_KEY = "bookstation.kept_urls"


URLS_KEPT = 4096
#: A URL built from a longer text value is not kept: such values come from the request (the
#: language switch's `next=request.path` on every page, a pager's query arguments), and a few
#: thousand long random paths would otherwise keep megabytes per worker.
VALUE_KEPT = 200
#: Characters of URL kept at most (about, with their keys); the lot is dropped when over.
URL_CHARS_KEPT = 256 * 1024
_CHARS_KEY = "bookstation.kept_url_chars"


class TemplateGlobals(ChainMap):
    """A template's globals as Jinja makes them (`Environment.make_globals`: the template's own
    over the environment's, a ChainMap), answering `keys()` with the environment's own dict
    view while the template has none of its own.

    On every `{% from … import … %}` Jinja takes the importing template's global names minus
    the imported one's (`globals.keys()`), to see whether the imported module must be made
    again. A ChainMap's keys view answers each name in Python: about 40 µs an import with the
    shop's 39 globals, a twentieth of a search page (bench/README.md, issue 24). A dict's view
    answers in C. Names and values are the same as the ChainMap's, and the environment's dict
    is read as it is now, so a global added after a template was loaded is still seen."""

    def keys(self):  # type: ignore[override]
        maps = self.maps
        if len(maps) == 2 and not maps[0]:
            return maps[1].keys()
        return super().keys()

    def __getitem__(self, key: str) -> Any:
        for mapping in self.maps:  # without ChainMap's KeyError for each map that lacks it
            if key in mapping:
                return mapping[key]
        return self.__missing__(key)


class ShopEnvironment(Environment):
    """Flask's template environment, with TemplateGlobals for each template's globals (set as
    the app's `jinja_environment` before its `jinja_env` is first used)."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return TemplateGlobals({} if d is None else d, self.globals)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.add_extension(KeptBlocks)
    app.jinja_env.globals["url_for"] = kept_url_for
    app.jinja_env.globals["link_args"] = link_args
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = day
    app.jinja_env.filters["datetime"] = when
    app.jinja_env.filters["machine_time"] = machine_time
    app.jinja_env.filters["summary"] = _summary

    @app.context_processor
    def shop_globals() -> dict:
        return {
            "shop_name": app.config["SHOP_NAME"],
            "current_locale": locale_name,
            # BCP 47 for <html lang>: zh_Hans -> zh-Hans
            "html_lang": lambda: locale_name().replace("_", "-"),
            "shop_languages": LANGUAGE_NAMES,
        }


def kept_url_for(endpoint: str, **values) -> str:
    """Flask's url_for for templates, each URL built once per process.

    Within a request, a URL with no "_" option (_external, _anchor, ...) follows only from the
    endpoint, its values, the script root and, for a relative endpoint (".name"), the
    blueprint, as long as the app registers no URL defaults or build-error handlers; such URLs
    are kept (at most URLS_KEPT, or URL_CHARS_KEPT characters, dropped all at once when full),
    unless a text value is longer than VALUE_KEPT. Pages link the same endpoints dozens of
    times, and url_for costs tens of microseconds a call. Anything else goes to url_for
    itself."""
    if not has_request_context() or any(
            name[:1] == "_" or (isinstance(value, str) and len(value) > VALUE_KEPT)
            for name, value in values.items()):
        return url_for(endpoint, **values)
    app = current_app._get_current_object()
    req = request._get_current_object()
    try:
        key = (endpoint, req.script_root, req.blueprint if endpoint[:1] == "." else None,
               *sorted(values.items()))
        urls = app.extensions[_URLS_KEY]
        url = urls.get(key)
    except (TypeError, KeyError):  # a value that cannot be a key (a list); no store yet
        return _keep_url(app, endpoint, values)
    if url is None:
        return _keep_url(app, endpoint, values, key)
    return url


#: The kind under which `{% kept %}` blocks are kept (app.serving.page_store.kept), and how
#: many at most: a few blocks, each per language and script root.
KEPT_BLOCKS = "blocks"
KEPT_BLOCKS_LIMIT = 64


class KeptBlocks(Extension):
    """`{% kept "name" %} ... {% endkept %}`: a part of a template that follows only from the
    language and the script root (the layout's footer, its brand and search form: static
    links and translated words) is rendered once per process for each of those and kept
    (app.serving.page_store.kept, so not while templates reload when edited). Every page
    renders the layout, and those parts were a fifth of it. The name must be unique among
    kept blocks, and the block must not read the request, the reader or the page's own
    variables: what it shows would be the first render's. Outside a request it renders every
    time."""

    tags = {"kept"}

    def parse(self, parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        name = parser.parse_expression()
        body = parser.parse_statements(("name:endkept",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", [name]), [], [], body) \
            .set_lineno(lineno)

    def _render(self, name: str, caller) -> str:
        if not has_request_context():
            return caller()
        key = (name, locale_name(), request.script_root)
        return page_store.kept(KEPT_BLOCKS, key, caller, KEPT_BLOCKS_LIMIT)


def link_args() -> dict[str, str]:
    """The request's query arguments (the first value of each) to build a link to a page like
    this one with, as a pager or an export link does: `url_for(endpoint, **link_args())`.
    Names starting with "_" are left out: url_for reads them as its own options (`_scheme`,
    `_external`, `_anchor`), which a visitor must not choose (a 500, or javascript: links)."""
    return {name: value for name, value in request.args.items() if name[:1] != "_"}


def _keep_url(app, endpoint: str, values: dict, key: tuple | None = None) -> str:
    url = url_for(endpoint, **values)
    if key is not None and not app.url_default_functions and not app.url_build_error_handlers:
        urls = app.extensions.setdefault(_URLS_KEY, {})
        chars = app.extensions.get(_CHARS_KEY, 0) + 2 * len(url)  # the key is about as long
        if len(urls) >= URLS_KEPT or chars > URL_CHARS_KEPT:
            urls.clear()
            chars = 2 * len(url)
        urls[key] = url
        app.extensions[_CHARS_KEY] = chars
    elif key is None and _URLS_KEY not in app.extensions:
        app.extensions[_URLS_KEY] = {}
    return url


def _summary(value: object) -> Markup:
    """`app.core.text.summary` of what a template gives it, escaped once: a `{% filter %}`
    block gives escaped Markup, cut as the text it stands for (Jinja does not escape what a
    filter block returns)."""
    text = value.unescape() if isinstance(value, Markup) else str(value or "")
    return escape(summary(text))
