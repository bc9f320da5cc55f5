"""Whole-page cache for the catalog pages, with holes for what differs per visitor.

Most of a catalog page (home, a category, a search, a book) is the same for everyone who sees it
in one language, and rendering it costs far more than the bare request. So a page is rendered
once per URL and language into the shared cache (app.serving.caching: Redis with REDIS_URL, else
shared by the workers of one machine) for PAGE_CACHE_SECONDS, with markers where the per-visitor
bits go (app.serving.page_store), and those are filled in on every request:

- the CSRF token: Flask-WTF keeps the request's token on `g`, and every form and
  `csrf_token()` read it from there; rendering with a marker there puts the marker in every
  form, and each visitor then gets their own token (one per session, as without the cache;
  app.serving.library_internals);
- the header's account links and cart badge (`templates/_account_nav.html`), kept per
  language, kind of reader and cart size; the shop's cart says how to count
  (`page_store.set_cart_count`).

Only GETs with no flashed message waiting use it. A page is shared by visitors and members
alike, unless it holds a part that differs per member (`page_store.PER_READER`: the book page of
a book out of stock shows the member's own demand and held copies): such a page is shared among
visitors only, and rendered for each member.
Staleness: a listing, or a visitor's book page, may show a stock level or a price up to
PAGE_CACHE_SECONDS old; the cart and checkout always read live stock and prices.

A later request for a page served here, by a visitor or by a member whose request Flask would
only read, is answered before Flask by app.serving.front_door, from the same cache entry
(serve() records the URL, language and key in page_store's index).

An admin edit that changes what the catalog pages show (a category, a book, stock received)
calls `forget_pages()` after its commit: every page cached so far is then stale at once, in
every process (each entry carries the generation it was rendered in, and a page is only served
from the cache while that is the shared cache's current generation).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable

from flask import current_app, g, has_request_context, render_template, request, session
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from app.core.forms import listed_choices
from app.core.i18n import locale_name
from app.serving import caching, page_store
from app.serving.library_internals import (
    FLASHES_KEY,
    csrf_field_name,
    csrf_token,
    put_request_csrf_token,
    request_csrf_token,
)
from app.serving.page_store import CACHE_HEADER, GENERATION_KEY, NAVS, NAVS_KEPT, kept, nav_key

log = logging.getLogger(__name__)


_CSRF_CONTEXT = {"csrf_token": csrf_token}


def register(app) -> None:
    """Templates' helpers and the cache-state header. Called after Flask-WTF's init_app: its
    `csrf_token`, a template global and a context processor's, is replaced by
    `library_internals.csrf_token` in both (a later context processor wins)."""
    app.add_template_global(csrf_token, "csrf_token")
    app.context_processor(lambda: _CSRF_CONTEXT)
    app.add_template_global(account_nav)
    app.add_template_global(filter_form)
    app.add_template_global(page_store.per_reader)
    app.after_request(_say_cache_state)


def _say_cache_state(response):
    state = g.get("page_cache_state")
    if state is not None:
        response.headers[CACHE_HEADER] = state
    return response


def shareable() -> bool:
    """Whether this request may be answered from (and fill) the shared page cache."""
    if request.method != "GET" or session.get(FLASHES_KEY):
        return False
    # A token issued earlier in this request would be cached.
    return request_csrf_token(csrf_field_name(current_app.config)) is None


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
    generation, html = page_store.current_page(key)
    if generation is None:
        return forget_pages(), None
    return generation, html


def page_key(name: str, full_path: str | None = None, locale: str | None = None,
             root: str | None = None) -> str:
    """The cache key of a URL (path and query string, as `request.full_path` gives it: "/?"
    for the home page) under `name`, in a language (default: this request's), under a script
    root (default: this request's). Every link in a page starts with the script root, and
    behind a proxy (TRUST_PROXY_HOPS) it comes from the request's X-Forwarded-Prefix: a page
    rendered under one root is never served under another."""
    path = request.full_path if full_path is None else full_path
    if root is None:
        root = request.script_root if has_request_context() else ""
    digest = hashlib.blake2b(f"{root}\x00{path}".encode(), digest_size=12).hexdigest()
    return f"page:{name}:{locale or locale_name()}:{digest}"


def keys_for(name: str, full_path: str) -> list[str]:
    """The keys of one URL in every language the shop speaks, under this request's script
    root (to forget a page at once)."""
    return [page_key(name, full_path, lang) for lang in current_app.config["LANGUAGES"]]


def serve(name: str, render: Callable[[], object], *, seconds: int | None = None) -> object:
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
    if seconds <= 0 or not shareable():
        return render()
    locale = locale_name()
    key = page_key(name, locale=locale)
    generation, html = cached_page(key)
    g.page_generation = generation
    member = current_user.is_authenticated
    g.page_cache_state = "hit"
    if html is not None and member and page_store.PER_READER in html:
        html = None  # a page with a part of its own for each member
    if html is None:
        result = _render_with_holes(render)
        if not isinstance(result, str):
            g.pop("page_cache_state", None)
            return _fill_result(result)
        html = result
        g.page_cache_state = "miss"
        if member and page_store.PER_READER in html:
            return fill(html)  # this member's own: neither kept nor indexed
        page_store.store_page(key, generation, html, seconds)
    page_store.record(request.environ, locale, key, seconds, request.script_root)
    return fill(html)


def current_generation() -> str | None:
    """The generation of the cached pages (see forget_pages) in this request, when the page it
    renders is one the page cache keeps (`serve`); None otherwise. Data a page shows may be
    cached under it, for no longer than the page: a catalog edit starts a new one."""
    return g.get("page_generation")


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
    csrf_hole, account_hole = page_store.holes()
    nav = _account_nav() if account_hole in html else ""
    token = csrf_token() if csrf_hole in html or csrf_hole in nav else ""
    return page_store.fill_holes(current_app, html, nav, token)


def _account_nav() -> str:
    """The header's account links and cart badge for this request, with a CSRF hole for the
    member's log-out form. They depend only on the language, whether the reader is a member
    (and staff) and the copies in their cart, so each combination is rendered once and kept:
    the header is on every page, and rendering it cost about as much as a bare request. The
    front door reads them from the same place (page_store.kept_nav)."""
    count = _cart_count()
    reader = None
    if current_user.is_authenticated:
        reader = "staff" if current_user.is_staff else "member"
    key = nav_key(locale_name(), count, reader, request.script_root)
    return kept(NAVS, key, lambda: _with_token_hole(
        lambda: render_template("_account_nav.html", cart_count=count)), NAVS_KEPT)


def _cart_count() -> int:
    """Copies in the reader's cart, as the shop's cart counts them (page_store.set_cart_count)."""
    try:
        member = current_user if current_user.is_authenticated else None
        return page_store.cart_count(current_app, member, session)
    except SQLAlchemyError:  # an error page after a database failure must still render
        log.exception("cart badge unavailable")
        return 0


def _with_token_hole(render: Callable[[], object]) -> object:
    """`render()` with the CSRF hole wherever a form asks for the token."""
    field = csrf_field_name(current_app.config)
    issued = put_request_csrf_token(field, page_store.holes()[0])
    try:
        return render()
    finally:
        put_request_csrf_token(field, issued)


def account_nav() -> Markup:
    """The header's account links for templates/base.html: the marker that stands for them
    while a shared page is being rendered, else this reader's own."""
    if g.get("page_cache_build"):
        return Markup(page_store.holes()[1])
    try:
        nav = _account_nav()
    except SQLAlchemyError:  # an error page while the database is down: no member to show
        log.exception("account links unavailable")
        return Markup("")
    csrf_hole = page_store.holes()[0]
    if csrf_hole in nav:
        nav = nav.replace(csrf_hole, csrf_token())
    return Markup(nav)


# --------------------------------------------------------------------------- filter forms

FORMS_KEPT = 256


def filter_form(form, template: str) -> Markup:
    """A GET filter form (no CSRF token) as `template` renders it, kept per process.

    Its HTML follows only from the language and the form's state (each field's data, what was
    typed into it, its choices and errors), so the same query string is rendered once. A
    change anywhere, such as a new tag among the choices, is a different key, so nothing stale
    is shown. A form that carries a CSRF token is rendered every time (the token is the
    reader's own)."""
    if form.meta.csrf:
        return Markup(render_template(template, form=form))
    key = (template, locale_name(), request.script_root, form_state(form))
    return kept("filter_forms", key, lambda: render_template(template, form=form), FORMS_KEPT)


def form_state(fields) -> tuple:
    """What the fields show, as a key: each one's name, data, typed text, errors and choices.
    `fields` is a form (every field) or any iterable of its fields (those a fragment shows)."""
    state = []
    for f in fields:
        typed = tuple(map(str, f.raw_data or ()))  # with the data, what the field shows
        state.append((f.name, repr(f.data), typed, tuple(map(str, f.errors)), _choices(f)))
    return tuple(state)


def _choices(field) -> tuple:
    """(value, label, selected) of each of a field's choices, as its `iter_choices()` gives
    them. A select whose choices are a list of SelectChoice (core.forms.listed_choices) is read
    from that list, with `iter_choices()`'s own test of the selected one: `iter_choices()`
    builds a Choice for every option first, and a listing's kept parts are keyed on two
    selects a request."""
    if not hasattr(field, "iter_choices"):
        return ()
    choices = listed_choices(field)
    if choices is not None:
        coerce, data = field.coerce, field.data
        return tuple((str(choice.value), str(choice.label), coerce(choice.value) == data)
                     for choice in choices)
    return tuple((str(value), str(label), selected)
                 for value, label, selected, *_ in field.iter_choices())
