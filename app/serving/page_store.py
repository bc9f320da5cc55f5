"""What the page cache keeps and the front door reads: shared between the two, and importing
neither, so that each imports only this.

- **Pages** are kept in the shared cache (app.serving.caching) under keys of the page cache's
  making, each as `(generation, html)`: a page is current only while `GENERATION_KEY` holds
  its generation (`current_page`).
- **The URL index**: which URL, in which language, is the page at which key, and until when.
  The page cache records each page it serves (`record`); the front door, when installed,
  opens the index (`open_index`) and answers from it.
- **Holes**: a shared page is rendered with markers where each reader's CSRF token and header
  go (`holes`), filled in per request (`fill_holes`).
- **Per-reader parts**: a part of a page that differs per member (the book page's panel with
  the member's own demand and held copies) says so with `PER_READER` (the template global
  `per_reader()`); a page holding one is shared among visitors only.
- **Kept fragments**: HTML that follows only from a key, rendered once per process (`kept`),
  among them the header's account links per language, kind of reader and cart size
  (`NAVS`, `nav_key`, `kept_nav`).
- **The cart count** the header is kept by: the shop's cart plugs in how to count
  (`set_cart_count`); serving knows no cart.
- **The logged-in reader** the front door may answer: membership plugs in how to read one from
  the session's login id (`set_reader_lookup`); serving knows no member. The front door may
  keep a reader for a few seconds (`Reader.keep_for`), per browser (`READER_VERSION_KEY`) and
  per generation of readers (`forget_readers`).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Hashable, MutableMapping
from typing import NamedTuple

from flask import Flask, current_app
from markupsafe import Markup

from app.serving import caching

# --------------------------------------------------------------------------- pages

GENERATION_KEY = "page:generation"


def current_page(key: str) -> tuple[str | None, str | None]:
    """(the current generation or None, the page at `key` if rendered in it, else None), in
    one cache round trip."""
    return _current(*caching.lookup_many(GENERATION_KEY, key))


def current_page_and_readers(key: str) -> tuple[object, str | None, str | None]:
    """(the shared cache's generation of readers, as `readers_generation` reads it, or None
    when it holds none; then what `current_page(key)` gives), in one cache round trip: for a
    reader the front door kept, whose generation it checks as it reads the page."""
    readers, generation, entry = caching.lookup_many(READERS_KEY, GENERATION_KEY, key)
    return (readers, *_current(generation, entry))


def _current(generation: object, entry: object) -> tuple[str | None, str | None]:
    if not isinstance(generation, str):
        return None, None
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation \
            and isinstance(entry[1], str):
        return generation, entry[1]
    return generation, None


def store_page(key: str, generation: str, html: str, seconds: int) -> None:
    caching.store(key, (generation, html), seconds)


# --------------------------------------------------------------------------- the URL index

#: The request's index key (script name, path, query string, X-Forwarded-Prefix header, all as
#: the WSGI server gave them), left in the WSGI environ by the front door for `record()`. The
#: front door runs outside ProxyFix (TRUST_PROXY_HOPS), which makes the script root from the
#: X-Forwarded-Prefix header: with the header in the key, a URL asked for with another prefix
#: is another URL.
ENVIRON_KEY = "bookstation.front_door"

#: The response header saying whether a catalog page came from the page cache: "hit" (served
#: from the stored page, by the front door or by page_cache.serve), "miss" (rendered now, then
#: stored); absent where the page cache took no part. It says nothing about the visitor;
#: bench/realistic.py reads it for the hit rate of a realistic mix.
CACHE_HEADER = "X-Cache"
_INDEX = "bookstation.page_index"
INDEX_KEPT = 20_000  # URLs remembered per process; the index is cleared when it fills

Index = dict[tuple[str, str, str, str], dict[str, tuple[str, float, str]]]


def open_index(app: Flask) -> Index:
    """The app's URL index, {url: {locale: (cache key, expires on time.monotonic(), the
    script root Flask saw)}}, recorded from now on."""
    return app.extensions.setdefault(_INDEX, {})


def record(environ: dict, locale: str, key: str, seconds: int, root: str = "") -> None:
    """This request's URL in `locale` is the page at `key` for `seconds`, rendered under the
    script root `root` (when the front door opened the index and marked the request)."""
    url = environ.get(ENVIRON_KEY)
    index = current_app.extensions.get(_INDEX)
    if url is None or index is None:
        return
    if len(index) >= INDEX_KEPT and url not in index:
        index.clear()
    index.setdefault(url, {})[locale] = (key, time.monotonic() + seconds, root)


# --------------------------------------------------------------------------- holes


def holes(app: Flask | None = None) -> tuple[str, str]:
    """(the CSRF token's marker, the header's marker), derived from the secret key: a visitor
    cannot type one into a page (say, in a search query) to have someone else's token written
    there."""
    app = app or current_app
    found = app.extensions.get("bookstation.page_holes")
    if found is None:
        secret = app.secret_key
        tag = hmac.new(secret.encode() if isinstance(secret, str) else secret,
                       b"page-cache-holes", "sha256").hexdigest()[:16]
        found = app.extensions["bookstation.page_holes"] = (
            f"\x1ecsrf:{tag}\x1e", f"\x1eaccount:{tag}\x1e")
    return found


#: Written by a part of a page that differs per member (the template global `per_reader()`).
#: A page holding it is kept for visitors only: a member is given it rendered for them. Typing
#: it into a form cannot share anything: escaped, it is no longer this text; and in a page
#: it can only make the page shared less.
PER_READER = "<!--per-reader-->"


def per_reader() -> Markup:
    return Markup(PER_READER)


def has_csrf_hole(app: Flask, html: str) -> bool:
    return holes(app)[0] in html


def fill_holes(app: Flask, html: str, nav: str, token: str) -> str:
    """`html` with its header hole holding `nav` and its CSRF holes `token`."""
    csrf_hole, account_hole = holes(app)
    return html.replace(account_hole, nav, 1).replace(csrf_hole, token)


# --------------------------------------------------------------------------- kept fragments

_KEPT = "bookstation.kept."  # app.extensions[_KEPT + name]: one dict per kind of fragment


def kept(name: str, key: Hashable, render: Callable[[], str], limit: int = 256) -> Markup:
    """HTML that follows only from `key`, rendered once per process and kept under `name`
    (at most `limit` keys; the lot is dropped when full). For fragments the same for many
    readers: the header's account links, the admin sidebar, filter forms, category links.
    Nothing is kept while templates reload when edited (TEMPLATES_AUTO_RELOAD, debug): the key
    does not hold the template's source, so an edit would not show."""
    app = current_app._get_current_object()
    if app.jinja_env.auto_reload:
        return Markup(render())
    store = app.extensions.setdefault(_KEPT + name, {})
    html = store.get(key)
    if html is None:
        if len(store) >= limit:
            store.clear()
        html = store[key] = Markup(render())
    return html


def kept_size(app: Flask, name: str) -> int:
    """How many fragments `app` keeps under `name` (for tests and measurements)."""
    return len(app.extensions.get(_KEPT + name, {}))


NAVS = "navs"  # the header's account links, kept per nav_key()
NAVS_KEPT = 256


def nav_key(locale: str, cart_count: int, reader: str | None = None, root: str = "") -> tuple:
    """The key of the header's account links: language, cart size, the script root its links
    start with and, for a logged-in reader, "member" or "staff" (None: a visitor)."""
    return (locale, root, cart_count) if reader is None else (locale, root, reader, cart_count)


def kept_nav(app: Flask, locale: str, cart_count: int, reader: str | None = None,
             root: str = "") -> str | None:
    """The header links of a visitor (`reader` None) or of a logged-in "member" or "staff"
    under the script root `root`, as kept by a page served through Flask, or None if none
    yet."""
    return app.extensions.get(_KEPT + NAVS, {}).get(nav_key(locale, cart_count, reader, root))


# --------------------------------------------------------------------------- the cart count

#: count(member, session) -> copies in the reader's cart.
CartCount = Callable[[object | None, MutableMapping], int]
_CART_COUNT = "bookstation.cart_count"


def set_cart_count(app: Flask, count: CartCount) -> None:
    """Plug in the header's cart badge: `count(member, session)` is the number of copies in
    the reader's cart, `member` the logged-in member or None for a visitor, `session` the
    Flask session. For a visitor it must read only the session: the front door calls it
    before Flask, outside any request or app context. Without it the badge shows 0."""
    app.extensions[_CART_COUNT] = count


def cart_count(app: Flask, member: object | None, session: MutableMapping) -> int:
    count = app.extensions.get(_CART_COUNT)
    return 0 if count is None else count(member, session)


# --------------------------------------------------------------------------- the logged-in reader


class Reader(NamedTuple):
    """A logged-in reader as the front door needs them to answer with a shared page."""

    kind: str  # "member" or "staff": nav_key's reader
    locale: str | None  # their saved language, if any
    member: object  # handed to the cart count plug-in (set_cart_count) as the member
    # For how many seconds from the lookup the front door may answer this login id again
    # with this reader, without a lookup (see `forget_readers`); 0: look it up every time.
    keep_for: float = 0.0


#: lookup(login id) -> the Reader whose session that is, or None: not a live session, or one
#: whose request must go through Flask (say, its last-seen time is due to be written).
ReaderLookup = Callable[[str], "Reader | None"]
_READER_LOOKUP = "bookstation.reader_lookup"

#: The shared cache's generation of the readers the front doors keep: a new one makes every
#: kept reader, in every process that shares the cache, be looked up again.
READERS_KEY = "readers:generation"

#: The session key a browser's own changes bump (a POST by a logged-in reader: a cart line, a
#: saved language), so that its next request is never answered with a reader kept before.
READER_VERSION_KEY = "_rv"


def set_reader_lookup(app: Flask, lookup: ReaderLookup) -> None:
    """Plug in how the front door reads a logged-in reader from the login id Flask-Login keeps
    in the session. It is called in an app context, outside any request; it must accept exactly
    the sessions Flask-Login's user loader accepts, and return None for any request whose
    answer through Flask would do more than read (a write, a cookie). Without it, every
    logged-in reader goes through Flask.

    A reader it returns with `keep_for` > 0 may answer that login id from the same browser
    (the session's READER_VERSION_KEY) for that many seconds without another lookup, unless
    `forget_readers()` is called meanwhile: the plug-in must call it after committing anything
    that ends a session or changes what it read in a way the reader must see at once."""
    app.extensions[_READER_LOOKUP] = lookup


def readers_generation() -> str:
    """The current generation of kept readers (a new one when the cache holds none). Read it
    before a lookup whose reader is to be kept: a `forget_readers` after the read, even one
    racing the lookup, then makes that reader stale."""
    generation = caching.lookup(READERS_KEY)
    if isinstance(generation, str):
        return generation
    return forget_readers()


def forget_readers() -> str:
    """Make every reader kept by any front door sharing the cache stale at once (a session
    ended, an account deactivated, a role or saved language changed). Returns the new
    generation."""
    generation = secrets.token_hex(8)
    caching.store(READERS_KEY, generation, 0)  # 0: no expiry
    return generation


def reader_lookup(app: Flask) -> ReaderLookup | None:
    return app.extensions.get(_READER_LOOKUP)
