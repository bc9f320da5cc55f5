"""The front door: a GET for a page already in the page cache, answered before Flask.

The page cache (app.serving.page_cache) keeps the catalog pages rendered with holes, but each
request would still go through all of Flask before reaching it: the session and Flask-Login,
Babel, the rate limiter, the context processors, the after-request hooks. For such a page that
machinery decides nothing the cache does not already know, so this WSGI middleware, outside
the app, answers the request itself:

- only a GET for a URL the page cache has served in the last PAGE_CACHE_SECONDS (the page cache
  records the URL, the language and the cache key in app.serving.page_store's index), whose
  page is still in the shared cache and of its current generation (so a page the shop forgot
  is never served from here);
- for a visitor: a session cookie without a logged-in member or a flashed message, and no
  remember-me cookie;
- for a logged-in member or member of staff, only when Flask would do nothing but read: the
  session's login id names a live session (membership's lookup, page_store.set_reader_lookup:
  one query, the same test as the user loader's, which also reads the saved language and the
  cart badge) of an active account, its last-seen time is not due to be written, Flask-Login's
  session protection would not touch the session and no remember cookie is waiting to be set
  or cleared; and only with a page shared by members (page_store.PER_READER);
- a reader looked up is kept for the same browser for a few seconds (Reader.keep_for:
  READER_KEEP_SECONDS, and never past the moment its last-seen time falls due), so that a
  member's next pages cost no query: kept per login id and the session's reader version,
  which each of the browser's own changes renews (`note_own_change`: any request but a read),
  and only while the shared cache's generation of readers is the one read before the lookup
  (page_store.forget_readers: membership starts a new one when a session ends or an account's
  state, role or language changes, so those take effect at once in every process);
- anyone else, and any doubt, goes through Flask as before;
- with the same language choice (a member's saved language, else the `lang` cookie, else
  Accept-Language), the same header links (kept per language, kind of reader and cart size in
  page_store), the same CSRF token (Flask-WTF's format, from the session's raw token, a new
  one in a new session), the same session cookie (Flask's own session interface writes it) and
  the same compression (Flask-Compress's own choice and settings). What it needs of those
  libraries beyond their public API is in app.serving.library_internals.

tests/serving/test_front_door.py holds it to the Flask path: same page, a token that posts.
FRONT_DOOR = False turns it off.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable

from flask import Flask, request
from flask import session as request_session  # in Flask; the door opens its own below
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Request, Response

from app.core.extensions import compress
from app.core.i18n import visitor_locale
from app.serving import page_store
from app.serving.library_internals import (
    FLASHES_KEY,
    LOGGED_IN_KEY,
    REMEMBER_KEY,
    choose_encoding,
    compress_body,
    csrf_field_name,
    new_raw_csrf_token,
    session_protection_acts,
    signed_csrf_token,
)
from app.serving.page_store import CACHE_HEADER, ENVIRON_KEY

#: Readers a front door keeps at most (per process; about 0.7 kB each); when full, it starts
#: afresh. Only the browsers seen in the last READER_KEEP_SECONDS are of use.
READERS_KEPT = 2_000
#: The Vary header of a page the front door answers: what decides which page, header and
#: encoding a browser gets.
VARY = "Cookie, Accept-Language, Accept-Encoding"
#: Methods after which a logged-in browser's reader version changes (`note_own_change`).
_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class FrontDoor:
    """WSGI middleware: see the module docstring."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.index = page_store.open_index(app)
        config = app.config
        self.remember_cookie = config.get("REMEMBER_COOKIE_NAME", "remember_token")
        self.csrf_field = csrf_field_name(config)
        self.min_compress = config.get("COMPRESS_MIN_SIZE", 500)
        self.languages = config["LANGUAGES"]
        # Flask-Login refreshes the remember cookie on every request when told to.
        self.refresh_remember = bool(config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST"))
        # (login id, the browser's reader version) -> (reader, readers' generation, kept
        # until, on `clock`): see `_reader`.
        self.readers: dict[tuple[str, object], tuple[page_store.Reader, str, float]] = {}
        self.clock: Callable[[], float] = time.monotonic

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET":
            # The forwarded prefix too: behind ProxyFix it is the page's script root.
            url = (environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                   environ.get("QUERY_STRING", ""), environ.get("HTTP_X_FORWARDED_PREFIX", ""))
            environ[ENVIRON_KEY] = url
            languages = self.index.get(url)
            if languages:
                answered = self._answer(environ, languages, start_response)
                if answered is not None:
                    return answered
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict, languages: dict, start_response: Callable,
                again: bool = False):
        """The response for a visitor or a logged-in reader, or None to let Flask answer. A
        kept reader found stale is looked up once more (`again`), as a reader not kept is."""
        req = Request(environ)
        cookies = req.cookies
        interface = self.app.session_interface
        session = interface.open_session(self.app, req)
        if session is None or session.get(FLASHES_KEY):
            return None
        login_id = session.get(LOGGED_IN_KEY)
        kept_generation = None  # of a reader kept from an earlier request: checked below
        if login_id is None:
            if self.remember_cookie in cookies:
                return None  # Flask-Login would log the visitor in from it
            reader = None
            locale = self._locale(cookies, environ)
        else:
            now = time.monotonic()
            if not any(entry[1] >= now for entry in languages.values()):
                return None  # nothing to serve in any language: no need to look them up
            found = self._reader(session, login_id, environ)
            if found is None:
                return None
            reader, kept_generation = found
            locale = (reader.locale if reader.locale in self.languages
                      else self._locale(cookies, environ))
        entry = languages.get(locale)
        if entry is None or entry[1] < time.monotonic():
            return None
        stale = False
        with self.app.app_context():
            # Only a page rendered in the current generation (page_cache.forget_pages).
            if kept_generation is None:
                _generation, html = page_store.current_page(entry[0])
            else:  # and a kept reader only while no reader was forgotten since its lookup
                readers, _generation, html = page_store.current_page_and_readers(entry[0])
                stale = readers != kept_generation
            if stale:
                self._forget_reader(session, login_id, kept_generation)
            elif html is None or (reader is not None and page_store.PER_READER in html):
                return None
            else:
                count = page_store.cart_count(self.app, reader and reader.member, session)
        if stale:
            return None if again else self._answer(environ, languages, start_response, True)
        nav = page_store.kept_nav(self.app, locale, count, reader and reader.kind, entry[2])
        if nav is None:
            return None
        token = ""
        if page_store.has_csrf_hole(self.app, html) or page_store.has_csrf_hole(self.app, nav):
            raw = session.get(self.csrf_field)  # as generate_csrf() does it
            if not raw:
                raw = session[self.csrf_field] = new_raw_csrf_token()
            token = signed_csrf_token(self.app, raw)
        body = page_store.fill_holes(self.app, html, nav, token).encode()
        # As Flask would answer it (a Response's headers, Flask-Compress's choice), written
        # straight to the server: a Response object costs more than the page's holes.
        headers = [("Content-Type", "text/html; charset=utf-8"), (CACHE_HEADER, "hit"),
                   ("Vary", VARY)]
        if session.modified:  # a new CSRF token: the session cookie, as Flask writes it
            carrier = Response()
            interface.save_session(self.app, session, carrier)
            headers += [item for item in carrier.headers.items() if item[0] == "Set-Cookie"]
        algorithm = choose_encoding(compress.enabled_algorithms,
                                    environ.get("HTTP_ACCEPT_ENCODING", ""))
        if algorithm is not None and len(body) >= self.min_compress:
            body = compress_body(self.app, body, algorithm)
            headers.append(("Content-Encoding", algorithm))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]

    def _reader(self, session, login_id: str,
                environ: dict) -> tuple[page_store.Reader, str | None] | None:
        """The logged-in reader, when Flask-Login would only read: no remember cookie to set
        or clear, a session its protection leaves alone, a session membership accepts. A
        database that fails the lookup leaves the request to Flask, which answers it as it
        answers any request the database fails (its error page, logged).

        With the reader, None when it was looked up now, or the readers' generation read
        before the lookup of a reader kept from an earlier request: that reader may answer
        only while the shared cache still holds that generation, which the caller checks in
        the round trip that reads the page."""
        if self.refresh_remember or REMEMBER_KEY in session:
            return None
        if session_protection_acts(self.app, session, environ):
            return None  # Flask-Login marks it not fresh, or ends it
        # (Otherwise Flask-Login would only send its `session_protected` signal on a session
        # whose identifier differs; nothing in the shop listens to it.)
        lookup = page_store.reader_lookup(self.app)
        if lookup is None:
            return None
        key = self._reader_key(session, login_id)
        kept = self.readers.get(key)
        if kept is not None and kept[2] > self.clock():
            return kept[0], kept[1]
        with self.app.app_context():
            generation = page_store.readers_generation()  # before the lookup: see there
            try:
                reader = lookup(login_id)
            except SQLAlchemyError:
                return None
        if reader is None or reader.keep_for <= 0:
            self.readers.pop(key, None)
        else:
            if len(self.readers) >= READERS_KEPT:
                self.readers.clear()
            self.readers[key] = (reader, generation, self.clock() + reader.keep_for)
        return None if reader is None else (reader, None)

    def _forget_reader(self, session, login_id: str, generation: str) -> None:
        """Drop the reader kept for this browser if it is still the one of `generation` (not
        one another thread has just looked up)."""
        key = self._reader_key(session, login_id)
        kept = self.readers.get(key)
        if kept is not None and kept[1] == generation:
            self.readers.pop(key, None)

    @staticmethod
    def _reader_key(session, login_id: str) -> tuple[str, object]:
        """Readers are kept per login id and per version of the browser's reader."""
        return login_id, session.get(page_store.READER_VERSION_KEY)

    def _locale(self, cookies, environ: dict) -> str:
        """web.select_locale() for a visitor (no saved language)."""
        accept = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        return visitor_locale(cookies, accept, self.app.config)


def install(app: Flask) -> None:
    """Put the front door before the app (outside any ProxyFix: it decides nothing by address)."""
    if not app.config.get("FRONT_DOOR", True):
        return
    door = FrontDoor(app, app.wsgi_app)
    app.extensions["bookstation.front_door"] = door
    app.wsgi_app = door  # type: ignore[method-assign]
    app.after_request(note_own_change)


def note_own_change(response: Response) -> Response:
    """After a request that may have changed what this browser's reader is (anything but a
    read, by a logged-in browser: a cart line, a saved language), give the session a new
    reader version, so that no front door answers its next request with a reader it kept
    from before."""
    if request.method not in _READING_METHODS and LOGGED_IN_KEY in request_session:
        request_session[page_store.READER_VERSION_KEY] = secrets.token_hex(4)
    return response
