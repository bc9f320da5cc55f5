"""Whole-page cache for the catalog pages, with holes for what differs per visitor.

Most of a catalog page (home, a category, a search, a book) is the same for everyone who sees
it in one language, and rendering it costs far more than the bare request (bench/README.md:
the layout alone cost more than a bare-Flask response). So a page is rendered once per URL and
language into the shared cache (app.serving.caching: Redis with REDIS_URL, per process otherwise)
for
PAGE_CACHE_SECONDS, with markers where the per-visitor bits go, and those are filled in on
every request:

- the CSRF token: Flask-WTF keeps the request's token in `g.csrf_token`, and every form and
  `csrf_token()` read it from there; rendering with a marker in `g` puts the marker in every
  form, and each visitor then gets their own token (one per session, as without the cache);
- the header's account links and cart badge (`templates/_account_nav.html`).

Only GETs with no flashed message waiting use it. A page that shows the member's own data
(the book page: their demand and held copies) is shared among visitors only (`members=False`).
Staleness: a listing, or a visitor's book page, may show a stock level or a price up to
PAGE_CACHE_SECONDS old; the cart and checkout always read live stock and prices.

A visitor's later request for a page served here is answered before Flask by app.serving.front_door,
from the same cache entry (serve() tells it the URL, language and key).

An admin edit that changes what the catalog pages show (a category, a book, stock received)
calls `forget_pages()` after its commit: every page cached so far is then stale at once, in
every process (each entry carries the generation it was rendered in, and a page is only served
from the cache while that is the shared cache's current generation).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Hashable

from flask import Flask, current_app, g, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from app.ordering import cart as cart_service
from app.serving import caching, front_door

log = logging.getLogger(__name__)


def _holes(app: Flask | None = None) -> tuple[str, str]:
    """The markers, derived from the secret key: a visitor cannot type one into a page (say,
    in a search query) to have someone else's token written there."""
    app = app or current_app
    holes = app.extensions.get("bookstation.page_holes")
    if holes is None:
        secret = app.secret_key
        tag = hmac.new(secret.encode() if isinstance(secret, str) else secret,
                       b"page-cache-holes", "sha256").hexdigest()[:16]
        holes = app.extensions["bookstation.page_holes"] = (
            f"\x1ecsrf:{tag}\x1e", f"\x1eaccount:{tag}\x1e")
    return holes


def register(app) -> None:
    app.add_template_global(account_nav)
    app.add_template_global(filter_form)


def _field_name() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def shareable(members: bool) -> bool:
    """Whether this request may be answered from (and fill) the shared page cache."""
    if request.method != "GET" or session.get("_flashes"):
        return False
    if current_user.is_authenticated and not members:
        return False
    return _field_name() not in g  # a token issued earlier in this request would be cached


GENERATION_KEY = "page:generation"


def forget_pages() -> str:
    """Make every cached page stale at once (after an edit to what the pages show): a new
    generation, kept until the next edit. Returns it."""
    generation = secrets.token_hex(8)
    caching.store(GENERATION_KEY, generation, 0)  # 0: no expiry
    return generation


def cached_page(key: str) -> tuple[str, str | None]:
    """(the current generation, the page at `key` if rendered in it), in one cache round trip.
    With no generation in the cache (first use, or evicted) a new one is started: nothing
    cached before can then be taken for current."""
    generation, entry = caching.lookup_many(GENERATION_KEY, key)
    if not isinstance(generation, str):
        return forget_pages(), None
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        return generation, entry[1]
    return generation, None


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
    locale = str(get_locale())
    key = page_key(name, locale=locale)
    generation, html = cached_page(key)
    if html is None:
        result = _render_with_holes(render)
        if not isinstance(result, str):
            return _fill_result(result)
        html = result
        caching.store(key, (generation, html), seconds)
    front_door.record(key, seconds, locale)
    return fill(html)


def _render_with_holes(render: Callable[[], object]) -> object:
    g.page_cache_build = True
    try:
        return _with_token_hole(render)
    finally:
        g.pop("page_cache_build", None)


def _fill_result(result: object) -> object:
    if isinstance(result, tuple) and result and isinstance(result[0], str):
        return (fill(result[0]), *result[1:])
    return result


def fill(html: str) -> str:
    """Put this visitor's header and CSRF token into a page rendered with holes."""
    csrf_hole, account_hole = _holes()
    nav = _account_nav() if account_hole in html else ""
    token = generate_csrf() if csrf_hole in html or csrf_hole in nav else ""
    return fill_holes(current_app, html, nav, token)


def has_csrf_hole(app: Flask, html: str) -> bool:
    return _holes(app)[0] in html


def fill_holes(app: Flask, html: str, nav: str, token: str) -> str:
    """`html` with its header hole holding `nav` and its CSRF holes `token`."""
    csrf_hole, account_hole = _holes(app)
    return html.replace(account_hole, nav, 1).replace(csrf_hole, token)


_KEPT = "bookstation.kept."  # app.core.extensions[_KEPT + name]: one dict per kind of fragment


def kept(name: str, key: Hashable, render: Callable[[], str], limit: int = 256) -> Markup:
    """HTML that follows only from `key`, rendered once per process and kept under `name`
    (at most `limit` keys; the lot is dropped when full). For fragments the same for many
    readers: the header's account links, the admin sidebar, filter forms, category links."""
    store = current_app.extensions.setdefault(_KEPT + name, {})
    html = store.get(key)
    if html is None:
        if len(store) >= limit:
            store.clear()
        html = store[key] = Markup(render())
    return html


NAVS_KEPT = 256


def _account_nav() -> str:
    """The header's account links and cart badge for this request, with a CSRF hole for the
    member's log-out form. They depend only on the language, whether the reader is a member
    (and staff) and the copies in their cart, so each combination is rendered once and kept:
    the header is on every page, and rendering it cost about as much as a bare request."""
    count = _cart_count()
    if current_user.is_authenticated:
        key: tuple = (str(get_locale()), "staff" if current_user.is_staff else "member", count)
    else:
        key = (str(get_locale()), count)  # app.serving.front_door looks these up: visitor_nav()
    return kept("navs", key, lambda: _with_token_hole(
        lambda: render_template("_account_nav.html", cart_count=count)), NAVS_KEPT)


def _cart_count() -> int:
    """Copies in the reader's cart: one SUM query for a member, none for a visitor."""
    try:
        member = current_user if current_user.is_authenticated else None
        if member is not None:
            loaded = member.loaded_cart_count  # read with the member on a GET, else None
            if loaded is not None:
                return loaded
        return cart_service.count(member, session)
    except SQLAlchemyError:  # an error page after a database failure must still render
        log.exception("cart badge unavailable")
        return 0


def _with_token_hole(render: Callable[[], object]) -> object:
    """`render()` with the CSRF hole wherever a form asks for the token."""
    field = _field_name()
    issued = g.pop(field, None)
    setattr(g, field, _holes()[0])
    try:
        return render()
    finally:
        g.pop(field, None)
        if issued is not None:
            setattr(g, field, issued)


def visitor_nav(app: Flask, locale: str, cart_count: int) -> str | None:
    """A visitor's header links as kept by a page served through Flask, or None if none yet
    (app.serving.front_door then lets Flask render them)."""
    return app.extensions.get(_KEPT + "navs", {}).get((locale, cart_count))


def account_nav() -> Markup:
    """The header's account links for templates/base.html: the marker that stands for them
    while a shared page is being rendered, else this reader's own."""
    if g.get("page_cache_build"):
        return Markup(_holes()[1])
    try:
        nav = _account_nav()
    except SQLAlchemyError:  # an error page while the database is down: no member to show
        log.exception("account links unavailable")
        return Markup("")
    csrf_hole = _holes()[0]
    if csrf_hole in nav:
        nav = nav.replace(csrf_hole, generate_csrf())
    return Markup(nav)


# --------------------------------------------------------------------------- filter forms

FORMS_KEPT = 256


def filter_form(form, template: str) -> Markup:
    """A GET filter form (no CSRF token) as `template` renders it, kept per process.

    Its HTML follows only from the language and the form's state (each field's value, choices
    and errors), so the same query string is rendered once: the customer list's twelve fields
    cost about a third of that page (bench/README.md). A change anywhere, such as a new tag
    among the choices, is a different key, so nothing stale is shown. A form that carries a
    CSRF token is rendered every time (the token is the reader's own)."""
    if form.meta.csrf:
        return Markup(render_template(template, form=form))
    key = (template, str(get_locale()), _form_state(form))
    return kept("filter_forms", key, lambda: render_template(template, form=form), FORMS_KEPT)


def _form_state(form) -> tuple:
    state = []
    for f in form:
        shown = f._value() if callable(getattr(f, "_value", None)) else None
        choices = (tuple((str(value), str(label), selected)
                         for value, label, selected, *_ in f.iter_choices())
                   if hasattr(f, "iter_choices") else ())
        state.append((f.name, repr(f.data), shown, tuple(map(str, f.errors)), choices))
    return tuple(state)
