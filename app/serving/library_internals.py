"""Every place where the app relies on a library's private internals, kept in this one module.

Each is here because the public API has no equivalent at a cost the serving path (or, for
Werkzeug, each app's start-up) can bear:

- **Flask** keeps flashed messages in the session under `FLASHES_KEY`; the page cache and the
  front door look for them without taking them out (Flask's `get_flashed_messages()` would).
- **Flask-Login** keeps the logged-in member in the session under `LOGGED_IN_KEY`; the front
  door, which answers before Flask, tells a member from a visitor by it. Its session protection
  compares the session's `_id` with a digest of the client's address and browser
  (`login_identifier`), and a pending remember-cookie action waits in the session under
  `REMEMBER_KEY`: the front door answers a member only when Flask-Login would change nothing.
  It keeps the request's user on `g` once loaded (`put_request_user`): the API sets the
  token's owner there, so nothing in its requests ever reads the session cookie.
- **Flask-WTF**: `generate_csrf()` keeps the request's signed token on `g` under the field's
  name (`request_csrf_token`, `put_request_csrf_token`): the page cache puts a marker there
  while it renders a shared page. Its token is the session's raw token signed with
  itsdangerous under `CSRF_SALT` (`csrf_signer`, `new_raw_csrf_token`): the front door issues
  one outside a request, as `generate_csrf()` would inside it, and `csrf_token()` gives a
  session's recently signed token again (`signed_csrf_token`) instead of signing it anew.
- **Flask-Compress**: its choice of encoding and its compression with the app's settings
  (`choose_encoding`, `compress_body`), for the pages the front door answers.
- **Flask-Limiter**: its per-request hook (`limit_only_where_decorated`).
- **Werkzeug** compiles two URL-building functions for every rule an app adds
  (`Rule._compile_builder`, from the rule's parsed parts `Rule._trace`), generating and
  compiling Python code for each: two thirds of `create_app` (some 200 rules), which the test
  suite runs once per test. `BuildersOnceRule` compiles each rule's builders once per process,
  when the rule first builds a URL (`Rule._build`, `Rule._build_unknown`), and gives the next
  app's equal rule the same functions.

Each library is pinned (==) in requirements.txt, and tests/serving/test_library_internals.py checks
against the installed version that every internal used here still exists and behaves as
relied on, so an upgrade that changes one fails there rather than in production.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, session
from flask_compress.flask_compress import _choose_algorithm, _compress_data
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from werkzeug.routing import Rule

from app.serving.signing import kept_serializer

# --------------------------------------------------------------------------- Flask

#: The session key under which `flask.flash()` keeps messages until they are shown.
FLASHES_KEY = "_flashes"

# --------------------------------------------------------------------------- Flask-Login

#: The session key under which `flask_login.login_user()` keeps the logged-in user's id.
LOGGED_IN_KEY = "_user_id"

#: Where `login_user()` keeps the session's identifier (`login_identifier`), whether the login
#: is fresh, and a pending remember-cookie action ("set" or "clear", done by Flask-Login's
#: after-request hook).
IDENTIFIER_KEY = "_id"
FRESH_KEY = "_fresh"
REMEMBER_KEY = "_remember"


def session_protection_acts(app: Flask, session, environ: dict) -> bool:
    """Whether Flask-Login's session protection (`LoginManager._session_protection_failed`)
    would change this session or log its user out: the session's identifier differs from this
    request's (`login_identifier`) and either the mode is "strong" (on a session that is not
    permanent: logged out) or the login is still marked fresh (it would be marked not fresh).
    A session restored from the remember cookie has no identifier and is not fresh: with the
    "basic" mode nothing is done to it."""
    manager = getattr(app, "login_manager", None)
    mode = app.config.get("SESSION_PROTECTION",
                          getattr(manager, "session_protection", None))
    if mode not in ("basic", "strong") or not session:
        return False
    if session.get(IDENTIFIER_KEY) == login_identifier(environ):
        return False
    if mode == "strong" and not session.permanent:
        return True
    return session.get(FRESH_KEY) is not False


def login_identifier(environ: dict) -> str:
    """The identifier Flask-Login's session protection computes for this request
    (`flask_login.utils._create_identifier`: SHA-512 of the first X-Forwarded-For address, else
    the remote address, and the User-Agent), from the WSGI environ, outside any request."""
    address = environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR"))
    if address is not None:
        address = address.encode("utf-8").split(b",")[0].strip()
    agent = environ.get("HTTP_USER_AGENT")
    if agent is not None:
        agent = agent.encode("utf-8")
    return hashlib.sha512(f"{address}|{agent}".encode()).hexdigest()


def put_request_user(user) -> None:
    """Make `current_user` this user for the rest of the request, without the session: what
    Flask-Login's `_get_user()` returns once it has loaded someone (`g._login_user`)."""
    g._login_user = user


# --------------------------------------------------------------------------- Flask-WTF

#: The salt of Flask-WTF's token serializer (`flask_wtf.csrf.generate_csrf`).
CSRF_SALT = "wtf-csrf-token"


def csrf_field_name(config) -> str:
    """Where Flask-WTF keeps the raw token in the session and the signed one on `g`."""
    return config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def csrf_signer(app: Flask) -> URLSafeTimedSerializer:
    """A serializer signing as the one `generate_csrf()` signs the session's raw token with
    (app.serving.signing's, which derives its key once)."""
    return kept_serializer(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key,
                           salt=CSRF_SALT)


def new_raw_csrf_token() -> str:
    """A new raw token for a session that has none, as `generate_csrf()` makes it."""
    return hashlib.sha1(os.urandom(64)).hexdigest()


#: A session's raw token signed less than this long ago is given again rather than signed anew:
#: its validity (WTF_CSRF_TIME_LIMIT, an hour by default) is at most this much shorter.
#: Signing took about 70 µs a page (Flask-WTF builds its serializer each time).
CSRF_RESIGN_SECONDS = 60
SIGNED_CSRF_KEPT = 4096  # raw tokens remembered per process; all forgotten when full
_SIGNED_CSRF = "bookstation.signed_csrf"  # app.extensions: raw -> (key, token, signed at)


def signed_csrf_token(app: Flask, raw: str) -> str:
    """The session's raw token signed as `generate_csrf()` signs it (`csrf_signer`): the
    same signed token for CSRF_RESIGN_SECONDS, then a new one. Tokens are kept with the key
    they were signed with: after a new secret key nothing signed with the old one is given."""
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    kept = app.extensions.setdefault(_SIGNED_CSRF, {})
    now = time.monotonic()
    entry = kept.get(raw)
    if entry is not None and entry[0] == secret and now - entry[2] < CSRF_RESIGN_SECONDS:
        return entry[1]
    token = csrf_signer(app).dumps(raw)
    if len(kept) >= SIGNED_CSRF_KEPT:
        kept.clear()
    kept[raw] = (secret, token, now)
    return token


def csrf_token() -> str:
    """`generate_csrf()` as templates, forms and the page cache use it: this request's signed
    token, issued once and kept on `g` where Flask-WTF keeps it (so its forms and checks see
    the same one). A session that has a raw token gets it signed by `signed_csrf_token`; one
    without is left to Flask-WTF, which makes the raw token."""
    app = current_app
    field = csrf_field_name(app.config)
    token = g.get(field)
    if token is None:
        raw = session.get(field)
        if not raw:
            return generate_csrf()
        token = signed_csrf_token(app, raw)
        setattr(g, field, token)
    return token


def request_csrf_token(field: str) -> str | None:
    """The signed token `generate_csrf()` issued in this request, if any (it returns this one
    for the rest of the request)."""
    return g.get(field)


def put_request_csrf_token(field: str, token: str | None) -> str | None:
    """Make `generate_csrf()` return `token` for the rest of the request (None: issue its own
    again). Returns the token it held before."""
    before = g.pop(field, None)
    if token is not None:
        setattr(g, field, token)
    return before


# --------------------------------------------------------------------------- Flask-Compress


def choose_encoding(algorithms: tuple[str, ...], accept_encoding: str) -> str | None:
    """The encoding Flask-Compress picks among `algorithms` for this Accept-Encoding."""
    return _choose_algorithm(algorithms, accept_encoding)


def compress_body(app: Flask, data: bytes, algorithm: str) -> bytes:
    """`data` compressed as Flask-Compress does, with the app's COMPRESS_* settings."""
    return _compress_data(app, data, algorithm)


# --------------------------------------------------------------------------- Flask-Limiter


def limit_only_where_decorated(app: Flask, limiter) -> None:
    """Drop Flask-Limiter's per-request hook when nothing needs it.

    The hook checks every request for limits on the whole app or on a blueprint, and for meta
    limits (a client refused everywhere after many breaches); a view's own limit (log-in,
    password reset, a visitor's demand) is checked by its decorator. The shop sets none of the
    first kind, so the hook goes unless such a limit is set up. (With RATELIMIT_ENABLED off
    the hook was never installed.)"""
    manager = limiter.limit_manager  # what init_app and any @limiter.limit(bp) set up
    if getattr(limiter, "_meta_limits", True) or any(
            getattr(manager, kind, True)
            for kind in ("_default_limits", "_application_limits", "_blueprint_limits")):
        return
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)


# --------------------------------------------------------------------------- Werkzeug

#: Builders kept per process at most (the shop's rules need about 400: two per rule).
BUILDERS_KEPT = 4_096
_BUILDERS: dict[tuple, Callable[..., Any]] = {}


class BuildersOnceRule(Rule):
    """Werkzeug's `Rule`, whose URL builders are compiled once per process for each rule, when
    the rule first builds a URL of their kind.

    Werkzeug compiles a builder from the rule's parsed parts (`_trace`: its static text and
    the names of its variables), the names of its defaults, and whether unknown arguments go
    in the query string; the function it makes reads the rule's converters only from the rule
    it is bound to (`self._converters`). So a rule whose parts and default names equal an
    earlier one's gets that builder's function, bound to itself, as Werkzeug would have
    compiled it. A rule with a default for one of its own variables (Werkzeug writes the
    converted default into the function's code) is compiled afresh, as is everything past
    BUILDERS_KEPT.

    Werkzeug compiles both builders of every rule as the rule is added; here each is compiled
    at its first use instead (`_BUILD_FIRST`): a server's start compiled some 400, while
    Flask's `url_for` only ever builds with unknown arguments in the query string, and a
    process's pages use a few dozen rules.
    tests/serving/test_library_internals.py checks that each kept function is the code
    Werkzeug compiles, and when it is compiled."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., Any]:
        return _BUILD_FIRST[append_unknown]

    def kept_builder(self, append_unknown: bool) -> Callable[..., Any]:
        """The builder Werkzeug compiles for this rule (unbound), from the process's store."""
        defaults = self.defaults or {}
        if any(is_dynamic and name in defaults for is_dynamic, name in self._trace):
            return super()._compile_builder(append_unknown)
        key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
        builder = _BUILDERS.get(key)
        if builder is None:
            builder = super()._compile_builder(append_unknown)
            if len(_BUILDERS) < BUILDERS_KEPT:  # two threads at once keep one (setdefault)
                builder = _BUILDERS.setdefault(key, builder)
        return builder


def _build_first(append_unknown: bool) -> Callable[..., tuple[str, str]]:
    """What a rule builds with until it first builds a URL (Werkzeug calls `rule._build(**values)`
    or `rule._build_unknown(**values)`): the rule's kept builder, which then takes its place."""
    attribute = "_build_unknown" if append_unknown else "_build"

    def build_first(rule: BuildersOnceRule, **values: Any) -> tuple[str, str]:
        builder = rule.kept_builder(append_unknown).__get__(rule, None)
        setattr(rule, attribute, builder)
        return builder(**values)

    return build_first


_BUILD_FIRST = {False: _build_first(False), True: _build_first(True)}
