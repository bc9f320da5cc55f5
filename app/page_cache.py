"""Whole-page cache for the catalog pages, with holes for what differs per visitor.

Most of a catalog page (home, a category, a search, a book) is the same for everyone who sees
it in one language, and rendering it costs far more than the bare request (bench/README.md:
the layout alone cost more than a bare-Flask response). So a page is rendered once per URL and
language into the shared cache (app.caching: Redis with REDIS_URL, per process otherwise) for
PAGE_CACHE_SECONDS, with markers where the per-visitor bits go, and those are filled in on
every request:

- the CSRF token: Flask-WTF keeps the request's token in `g.csrf_token`, and every form and
  `csrf_token()` read it from there; rendering with a marker in `g` puts the marker in every
  form, and each visitor then gets their own token (one per session, as without the cache);
- the header's account links and cart badge (`templates/_account_nav.html`).

Only GETs with no flashed message waiting use it. A page that shows the member's own data
(the book page: their demand and held copies) is shared among visitors only (`members=False`).
Staleness: a listing may show a stock level up to PAGE_CACHE_SECONDS old (the book page's key
carries its live stock and price, so it never does); the cart and checkout always read live
stock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from flask import current_app, g, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app import caching
from app.services import cart as cart_service


def _holes() -> tuple[str, str]:
    """The markers, derived from the secret key: a visitor cannot type one into a page (say,
    in a search query) to have someone else's token written there."""
    holes = current_app.extensions.get("bookstation.page_holes")
    if holes is None:
        secret = current_app.secret_key
        tag = hmac.new(secret.encode() if isinstance(secret, str) else secret,
                       b"page-cache-holes", "sha256").hexdigest()[:16]
        holes = current_app.extensions["bookstation.page_holes"] = (
            f"\x1ecsrf:{tag}\x1e", f"\x1eaccount:{tag}\x1e")
    return holes


def register(app) -> None:
    app.add_template_global(account_nav_hole)


def _field_name() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def shareable(members: bool) -> bool:
    """Whether this request may be answered from (and fill) the shared page cache."""
    if request.method != "GET" or session.get("_flashes"):
        return False
    if current_user.is_authenticated and not members:
        return False
    return _field_name() not in g  # a token issued earlier in this request would be cached


def page_key(name: str, full_path: str | None = None, locale: str | None = None) -> str:
    """The cache key of a URL (path and query string, as `request.full_path` gives it: "/?"
    for the home page) under `name`, in a language (default: this request's)."""
    path = request.full_path if full_path is None else full_path
    digest = hashlib.blake2b(path.encode(), digest_size=12).hexdigest()
    return f"page:{name}:{locale or get_locale()}:{digest}"


def keys_for(name: str, full_path: str) -> list[str]:
    """The keys of one URL in every language the shop speaks (to forget a page at once)."""
    return [page_key(name, full_path, lang) for lang in current_app.config["LANGUAGES"]]


def serve(name: str, render: Callable[[], object], *, members: bool = True,
          seconds: int | None = None) -> object:
    """What `render()` returns for this URL, from the cache when the visitor may share it.

    `render` returns what a view returns; only a plain string (a 200 page) is cached, anything
    else (a 400 or 404 with its status) is served as rendered. `name` groups the keys and
    carries any version the page depends on. A page is kept for PAGE_CACHE_SECONDS, or less:
    never longer than the header's categories (NAV_CATEGORIES_TTL) or `seconds`.
    """
    config = current_app.config
    limits = [config["PAGE_CACHE_SECONDS"], config["NAV_CATEGORIES_TTL"]]
    if seconds is not None:
        limits.append(seconds)
    seconds = min(limits)
    if seconds <= 0 or not shareable(members):
        return render()
    key = page_key(name)
    html = caching.lookup(key)
    if html is None:
        result = _render_with_holes(render)
        if not isinstance(result, str):
            return _fill_result(result)
        html = result
        caching.store(key, html, seconds)
    return fill(html)


def _render_with_holes(render: Callable[[], object]) -> object:
    field = _field_name()
    setattr(g, field, _holes()[0])
    g.page_cache_build = True
    try:
        return render()
    finally:
        g.pop(field, None)
        g.pop("page_cache_build", None)


def _fill_result(result: object) -> object:
    if isinstance(result, tuple) and result and isinstance(result[0], str):
        return (fill(result[0]), *result[1:])
    return result


def fill(html: str) -> str:
    """Put this visitor's header and CSRF token into a page rendered with holes."""
    csrf_hole, account_hole = _holes()
    if account_hole in html:
        html = html.replace(account_hole, _account_nav(), 1)
    if csrf_hole in html:
        html = html.replace(csrf_hole, generate_csrf())
    return html


VISITOR_NAVS_KEPT = 64


def _account_nav() -> str:
    """The header's account links for this request. A visitor's depend only on the language
    and the number of copies in their cart, so they are rendered once per pair and kept."""
    if current_user.is_authenticated:
        return render_template("_account_nav.html")
    key = (str(get_locale()), cart_service.count(None, session))
    kept = current_app.extensions.setdefault("bookstation.visitor_navs", {})
    nav = kept.get(key)
    if nav is None:
        if len(kept) >= VISITOR_NAVS_KEPT:
            kept.clear()
        nav = kept[key] = render_template("_account_nav.html")
    return nav


def account_nav_hole() -> Markup | None:
    """While a shared page is being rendered, the marker that stands for the header's account
    links and cart badge; otherwise None, and templates/base.html includes them itself."""
    if g.get("page_cache_build"):
        return Markup(_holes()[1])
    return None
