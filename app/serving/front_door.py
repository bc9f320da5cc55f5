"""The front door: a visitor's GET for a page already in the page cache, answered before Flask.

The page cache (app.serving.page_cache) keeps the catalog pages rendered with holes, but each
request would still go through all of Flask before reaching it: the session and Flask-Login,
Babel, the rate limiter, the context processors, the after-request hooks. For a visitor that
machinery decides nothing the cache does not already know, so this WSGI middleware, outside
the app, answers such a request itself:

- only a GET for a URL the page cache has served in the last PAGE_CACHE_SECONDS (the page cache
  records the URL, the language and the cache key in app.serving.page_store's index), whose
  page is still in the shared cache and of its current generation (so a page the shop forgot
  is never served from here);
- only for a visitor: a session cookie without a logged-in member or a flashed message, and no
  remember-me cookie; anyone else, and any doubt, goes through Flask as before;
- with the same language choice (the `lang` cookie, else Accept-Language), the same header
  links (the visitor's, kept per language and cart size in page_store), the same CSRF token
  (Flask-WTF's format, from the session's raw token, a new one in a new session), the same
  session cookie (Flask's own session interface writes it) and the same compression
  (Flask-Compress's own choice and settings). What it needs of those libraries beyond their
  public API is in app.serving.library_internals.

tests/serving/test_front_door.py holds it to the Flask path: same page, a token that posts.
FRONT_DOOR = False turns it off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Request, Response

from app.core.extensions import compress
from app.core.i18n import visitor_locale
from app.serving import page_store
from app.serving.library_internals import (
    FLASHES_KEY,
    LOGGED_IN_KEY,
    choose_encoding,
    compress_body,
    csrf_field_name,
    csrf_signer,
    new_raw_csrf_token,
)
from app.serving.page_store import CACHE_HEADER, ENVIRON_KEY


class FrontDoor:
    """WSGI middleware: see the module docstring."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.index = page_store.open_index(app)
        config = app.config
        self.remember_cookie = config.get("REMEMBER_COOKIE_NAME", "remember_token")
        self.csrf_field = csrf_field_name(config)
        self.csrf_signer = csrf_signer(app)
        self.min_compress = config.get("COMPRESS_MIN_SIZE", 500)

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

    def _answer(self, environ: dict, languages: dict, start_response: Callable):
        """The response for a visitor, or None to let Flask answer."""
        req = Request(environ)
        cookies = req.cookies
        if self.remember_cookie in cookies:
            return None
        locale = self._locale(cookies, environ)
        entry = languages.get(locale)
        if entry is None or entry[1] < time.monotonic():
            return None
        interface = self.app.session_interface
        session = interface.open_session(self.app, req)
        if session is None or LOGGED_IN_KEY in session or session.get(FLASHES_KEY):
            return None
        with self.app.app_context():
            # Only a page rendered in the current generation (page_cache.forget_pages).
            _generation, html = page_store.current_page(entry[0])
        if html is None:
            return None
        nav = page_store.visitor_nav(
            self.app, locale, page_store.cart_count(self.app, None, session), entry[2])
        if nav is None:
            return None
        token = ""
        if page_store.has_csrf_hole(self.app, html) or page_store.has_csrf_hole(self.app, nav):
            raw = session.get(self.csrf_field)  # as generate_csrf() does it
            if not raw:
                raw = session[self.csrf_field] = new_raw_csrf_token()
            token = self.csrf_signer.dumps(raw)
        body = page_store.fill_holes(self.app, html, nav, token)
        response = Response(body, mimetype="text/html")
        response.headers[CACHE_HEADER] = "hit"
        response.vary.update(("Cookie", "Accept-Language", "Accept-Encoding"))
        if session.modified:
            interface.save_session(self.app, session, response)
        self._compress(response, environ.get("HTTP_ACCEPT_ENCODING", ""))
        return response(environ, start_response)

    def _locale(self, cookies, environ: dict) -> str:
        """web.select_locale() for a visitor (no saved language)."""
        accept = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        return visitor_locale(cookies, accept, self.app.config)

    def _compress(self, response: Response, accept_encoding: str) -> None:
        """What Flask-Compress's after_request does to this page, with its own settings."""
        algorithm = choose_encoding(compress.enabled_algorithms, accept_encoding)
        if algorithm is None or (response.content_length or 0) < self.min_compress:
            return
        response.set_data(compress_body(self.app, response.get_data(), algorithm))
        response.headers["Content-Encoding"] = algorithm


def install(app: Flask) -> None:
    """Put the front door before the app (outside any ProxyFix: it decides nothing by address)."""
    if not app.config.get("FRONT_DOOR", True):
        return
    door = FrontDoor(app, app.wsgi_app)
    app.extensions["bookstation.front_door"] = door
    app.wsgi_app = door  # type: ignore[method-assign]
