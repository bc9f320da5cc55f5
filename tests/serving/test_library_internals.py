"""The libraries' private internals the app relies on still exist and behave as relied on.

app.serving.library_internals holds every use of them (Flask, Flask-Login, Flask-WTF with
itsdangerous, Flask-Compress, Flask-Limiter, Werkzeug); app.mail.mime and app.mail.smtp write the
outbox's messages through Flask-Mail's message and connection objects. These tests run against
the installed libraries, on bare Flask apps, so an upgrade that changes one of them fails here
rather than in production. Each such library is pinned (==) in requirements.txt."""

from __future__ import annotations

import gzip
import re
import smtplib
import zlib
from pathlib import Path

import pytest
from flask import Flask, flash, get_flashed_messages, session, url_for
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, login_user
from flask_mail import Mail, Message, email_dispatched
from flask_wtf.csrf import CSRFProtect, generate_csrf, validate_csrf
from werkzeug.routing import Rule

from app.serving import library_internals as internals

ROOT = Path(__file__).resolve().parents[2]
PINNED = ("Flask", "Flask-Login", "Flask-WTF", "itsdangerous", "Flask-Compress", "Flask-Limiter",
          "Flask-Mail", "brotli", "Werkzeug")


def _app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="internals", TESTING=True, **config)
    return app


def test_every_library_relied_on_is_pinned_to_one_version():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.\-\[\]]+)\s*==\s*(\S+)", line)
        if match:
            pins[match.group(1).split("[")[0].lower()] = match.group(2)

    assert {name.lower() for name in PINNED} <= set(pins)


# --------------------------------------------------------------------------- Flask


def test_flask_keeps_flashed_messages_in_the_session_under_flashes_key():
    app = _app()
    with app.test_request_context():
        flash("Saved.", "success")

        assert session[internals.FLASHES_KEY] == [("success", "Saved.")]
        assert get_flashed_messages() == ["Saved."]
        assert internals.FLASHES_KEY not in session


# --------------------------------------------------------------------------- Flask-Login


class _User(UserMixin):
    id = "42"


def test_flask_login_keeps_the_logged_in_user_under_logged_in_key():
    app = _app()
    LoginManager(app).user_loader(lambda user_id: None)
    with app.test_request_context():
        assert internals.LOGGED_IN_KEY not in session

        login_user(_User())

        assert session[internals.LOGGED_IN_KEY] == "42"


@pytest.mark.parametrize("environ", [
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)"},
    {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.1",
     "HTTP_USER_AGENT": "Bücherwurm/1.0"},
    {"REMOTE_ADDR": "::1"},
])
def test_login_user_keeps_the_identifier_computed_here_and_a_pending_remember_action(environ):
    app = _app()
    LoginManager(app).user_loader(lambda user_id: None)
    with app.test_request_context(environ_overrides=environ) as context:
        login_user(_User(), remember=True)

        assert session[internals.IDENTIFIER_KEY] == internals.login_identifier(
            context.request.environ)
        assert session[internals.REMEMBER_KEY] == "set"


def test_session_protection_marks_a_session_whose_identifier_differs_here():
    from flask_login import current_user

    app = _app()
    LoginManager(app).user_loader(lambda user_id: _User())
    with app.test_request_context(environ_overrides={"REMOTE_ADDR": "192.0.2.1"}) as context:
        session.update({internals.LOGGED_IN_KEY: "42", "_fresh": True,
                        internals.IDENTIFIER_KEY: internals.login_identifier(
                            {**context.request.environ, "REMOTE_ADDR": "192.0.2.2"})})

        assert current_user.is_authenticated
        assert session["_fresh"] is False


@pytest.mark.parametrize("mode", ["basic", "strong"])
@pytest.mark.parametrize("same_browser", [True, False, None])  # None: no identifier kept
@pytest.mark.parametrize("fresh", [True, False, None])  # None: no freshness kept
@pytest.mark.parametrize("permanent", [False, True])
def test_session_protection_acts_exactly_when_flask_login_changes_the_session(
        mode, same_browser, fresh, permanent):
    from flask_login import current_user

    app = _app(SESSION_PROTECTION=mode)
    LoginManager(app).user_loader(lambda user_id: _User())
    environ = {"REMOTE_ADDR": "192.0.2.1", "HTTP_USER_AGENT": "Reader/1.0"}
    with app.test_request_context(environ_overrides=environ) as context:
        login_environ = context.request.environ if same_browser else {
            **context.request.environ, "HTTP_USER_AGENT": "Other/2.0"}
        session[internals.LOGGED_IN_KEY] = "42"
        if same_browser is not None:  # a session restored from the remember cookie has none
            session[internals.IDENTIFIER_KEY] = internals.login_identifier(login_environ)
        if fresh is not None:
            session[internals.FRESH_KEY] = fresh
        session.permanent = permanent
        before = dict(session)
        predicted = internals.session_protection_acts(app, session, context.request.environ)

        logged_in = current_user.is_authenticated

        assert predicted == (dict(session) != before or not logged_in)


def test_a_user_put_on_the_request_is_current_user_and_the_session_is_never_read():
    from flask_login import current_user

    app = _app()
    loads = []
    LoginManager(app).user_loader(lambda user_id: loads.append(user_id))
    with app.test_request_context(headers={"Cookie": "session=anything"}):
        user = _User()
        internals.put_request_user(user)

        assert current_user._get_current_object() is user
        assert loads == []


# --------------------------------------------------------------------------- Flask-WTF


@pytest.fixture
def csrf_app() -> Flask:
    app = _app(WTF_CSRF_ENABLED=True)
    CSRFProtect(app)
    return app


@pytest.mark.parametrize("field", ["csrf_token", "other_name"])
def test_generate_csrf_keeps_the_requests_token_where_the_page_cache_puts_its_marker(field):
    app = _app(WTF_CSRF_FIELD_NAME=field) if field != "csrf_token" else _app()
    assert internals.csrf_field_name(app.config) == field
    with app.test_request_context():
        assert internals.request_csrf_token(field) is None
        issued = generate_csrf()
        assert internals.request_csrf_token(field) == issued
        assert session[field]  # the raw token, in the session under the same name

        before = internals.put_request_csrf_token(field, "MARKER")
        assert before == issued
        assert generate_csrf() == "MARKER"

        internals.put_request_csrf_token(field, None)
        assert generate_csrf() == issued  # signed again from the same raw token
        assert internals.request_csrf_token(field) == issued


def test_a_token_signed_outside_a_request_is_one_flask_wtf_accepts(csrf_app):
    raw = internals.new_raw_csrf_token()
    token = internals.csrf_signer(csrf_app).dumps(raw)

    with csrf_app.test_request_context():
        session[internals.csrf_field_name(csrf_app.config)] = raw
        validate_csrf(token)  # raises ValidationError if the format or salt changed


def test_csrf_token_is_the_requests_own_and_one_flask_wtf_accepts(csrf_app):
    with csrf_app.test_request_context():
        first = internals.csrf_token()  # a session without a raw token: Flask-WTF makes it
        raw = session["csrf_token"]
        assert generate_csrf() == first == internals.csrf_token()
        validate_csrf(first)

    with csrf_app.test_request_context():
        session["csrf_token"] = raw  # the same session's next request
        again = internals.csrf_token()
        assert generate_csrf() == again  # forms rendered after it carry the same one
        validate_csrf(again)


def test_a_sessions_token_is_signed_again_only_after_a_while(csrf_app, monkeypatch):
    raw = internals.new_raw_csrf_token()
    now = [1000.0]
    monkeypatch.setattr(internals.time, "monotonic", lambda: now[0])
    signed = []
    sign = internals.URLSafeTimedSerializer.dumps
    monkeypatch.setattr(internals.URLSafeTimedSerializer, "dumps",
                        lambda self, value: signed.append(value) or sign(self, value))

    first = internals.signed_csrf_token(csrf_app, raw)
    now[0] += internals.CSRF_RESIGN_SECONDS - 1
    assert internals.signed_csrf_token(csrf_app, raw) == first
    assert signed == [raw]
    now[0] += 1
    internals.signed_csrf_token(csrf_app, raw)
    assert signed == [raw, raw]
    other = internals.new_raw_csrf_token()
    internals.signed_csrf_token(csrf_app, other)
    assert signed == [raw, raw, other]


def test_a_new_secret_key_signs_the_sessions_token_anew(csrf_app):
    raw = internals.new_raw_csrf_token()
    before = internals.signed_csrf_token(csrf_app, raw)

    csrf_app.secret_key = "rotated-secret-key"
    after = internals.signed_csrf_token(csrf_app, raw)

    assert after != before
    with csrf_app.test_request_context():
        session["csrf_token"] = raw
        validate_csrf(after)


def test_a_new_raw_token_has_the_shape_flask_wtf_gives_one(csrf_app):
    with csrf_app.test_request_context():
        generate_csrf()
        theirs = session["csrf_token"]

    ours = internals.new_raw_csrf_token()

    assert re.fullmatch(r"[0-9a-f]{40}", theirs) and re.fullmatch(r"[0-9a-f]{40}", ours)
    assert ours != internals.new_raw_csrf_token()


def test_the_signer_uses_wtf_csrf_secret_key_when_set():
    app = _app(WTF_CSRF_SECRET_KEY="a different secret")
    CSRFProtect(app)
    raw = internals.new_raw_csrf_token()
    token = internals.csrf_signer(app).dumps(raw)

    with app.test_request_context():
        session["csrf_token"] = raw
        validate_csrf(token)


# --------------------------------------------------------------------------- Flask-Compress

PAGE = "<p>" + "A page long enough to be compressed. " * 40 + "</p>"
ACCEPT = ["gzip", "deflate", "br", "zstd", "gzip, deflate, br, zstd", "gzip, br",
          "br;q=0.5, gzip;q=1.0", "identity", "*", "", "compress", "gzip;q=0, deflate"]


@pytest.fixture
def compressed_app():
    app = _app()
    compress = Compress(app)

    @app.get("/")
    def page():
        return PAGE

    return app, compress


@pytest.mark.parametrize("accept", ACCEPT)
def test_the_encoding_chosen_is_the_one_flask_compress_sends(compressed_app, accept):
    app, compress = compressed_app

    response = app.test_client().get("/", headers={"Accept-Encoding": accept})

    chosen = internals.choose_encoding(compress.enabled_algorithms, accept)
    assert response.headers.get("Content-Encoding") == chosen


def _decompress(data: bytes, algorithm: str) -> bytes:
    if algorithm == "gzip":
        return gzip.decompress(data)
    if algorithm == "deflate":
        return zlib.decompress(data)
    if algorithm == "br":
        import brotli

        return brotli.decompress(data)
    from flask_compress.compat import compression

    return compression.zstd.decompress(data)


@pytest.mark.parametrize("algorithm", ["gzip", "deflate", "br", "zstd"])
def test_a_body_compressed_here_is_what_flask_compress_sends(compressed_app, algorithm):
    app, _compress = compressed_app
    sent = app.test_client().get("/", headers={"Accept-Encoding": algorithm}).get_data()

    ours = internals.compress_body(app, PAGE.encode(), algorithm)

    assert _decompress(ours, algorithm) == _decompress(sent, algorithm) == PAGE.encode()
    if algorithm != "gzip":  # gzip's header carries the time it was written
        assert ours == sent


# --------------------------------------------------------------------------- Flask-Limiter


def _limited_app(limiter: Limiter) -> Flask:
    app = _app(RATELIMIT_STORAGE_URI="memory://")
    limiter.init_app(app)

    @app.get("/open")
    def open_page():
        return "open"

    return app


def test_flask_limiter_checks_every_request_in_the_hook_that_is_dropped():
    limiter = Limiter(key_func=get_remote_address, default_limits=[])
    app = _limited_app(limiter)
    assert limiter._check_request_limit in app.before_request_funcs[None]
    for name in ("_default_limits", "_application_limits", "_blueprint_limits"):
        assert hasattr(limiter.limit_manager, name)
    assert hasattr(limiter, "_meta_limits")

    internals.limit_only_where_decorated(app, limiter)

    assert limiter._check_request_limit not in app.before_request_funcs[None]


@pytest.mark.parametrize("limits", [dict(default_limits=["1 per minute"]),
                                    dict(application_limits=["1 per minute"]),
                                    dict(meta_limits=["1 per minute"])])
def test_a_limit_on_every_request_keeps_the_hook(limits):
    limiter = Limiter(key_func=get_remote_address, **({"default_limits": []} | limits))
    app = _limited_app(limiter)

    internals.limit_only_where_decorated(app, limiter)

    assert limiter._check_request_limit in app.before_request_funcs[None]


def test_a_limit_on_a_blueprint_keeps_the_hook():
    from flask import Blueprint

    limiter = Limiter(key_func=get_remote_address, default_limits=[])
    app = _limited_app(limiter)
    bp = Blueprint("limited", __name__)

    @bp.get("/limited")
    def limited():
        return "limited"

    limiter.limit("1 per minute")(bp)
    app.register_blueprint(bp)

    internals.limit_only_where_decorated(app, limiter)

    assert limiter._check_request_limit in app.before_request_funcs[None]
    client = app.test_client()
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 429]


# --------------------------------------------------------------------------- Werkzeug


def _builders(rule) -> list:
    """A rule's two kept URL builders (compiled now if need be), as functions: without and
    with unknown arguments."""
    return [rule.kept_builder(False), rule.kept_builder(True)]


def _same_code(kept, compiled) -> bool:
    a, b = kept.__code__, compiled.__code__
    return (a.co_code, a.co_consts, a.co_names, a.co_varnames, a.co_argcount, a.co_flags,
            kept.__name__, kept.__defaults__) == (b.co_code, b.co_consts, b.co_names,
                                                  b.co_varnames, b.co_argcount, b.co_flags,
                                                  compiled.__name__, compiled.__defaults__)


def test_every_kept_builder_of_the_shop_is_the_code_werkzeug_compiles_for_its_rule(app):
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 150 and all(isinstance(r, internals.BuildersOnceRule) for r in rules)
    for rule in rules:
        kept = _builders(rule)
        compiled = [Rule._compile_builder(rule, False), Rule._compile_builder(rule, True)]
        assert all(_same_code(k, c) for k, c in zip(kept, compiled, strict=True)), rule.rule


def _shelf_app() -> Flask:
    app = _app()
    app.url_rule_class = internals.BuildersOnceRule

    @app.get("/shelf/<int:shelf_id>/book/<path:slug>")
    def book(shelf_id: int, slug: str) -> str:
        return slug

    return app


def _rule(app: Flask, endpoint: str):
    [rule] = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
    return rule


def test_a_rule_builds_with_werkzeugs_builder_compiled_when_it_first_builds_a_url():
    app = _shelf_app()
    rule = _rule(app, "book")
    placeholder, placeholder_unknown = rule._build, rule._build_unknown
    assert placeholder_unknown.__func__ is not rule.kept_builder(True)  # none as it is added

    with app.test_request_context():  # url_for builds with unknown arguments appended
        assert url_for("book", shelf_id=7, slug="a b/c") == "/shelf/7/book/a%20b/c"
        assert rule._build_unknown.__func__ is rule.kept_builder(True)  # in the placeholder's place
        assert rule._build_unknown.__self__ is rule and rule._build == placeholder
        assert url_for("book", shelf_id=7, slug="x", q="y") == "/shelf/7/book/x?q=y"
        assert url_for("book", shelf_id=8, slug="z", _external=True) \
            == "http://localhost/shelf/8/book/z"

    urls = app.url_map.bind("shop.test")
    assert urls.build("book", {"shelf_id": 9, "slug": "s", "q": "y"}, append_unknown=False) \
        == "/shelf/9/book/s"
    assert rule._build.__func__ is rule.kept_builder(False) and rule._build.__self__ is rule
    assert urls.build("book", {"shelf_id": 5, "slug": "t"}, append_unknown=False) \
        == "/shelf/5/book/t"


def test_a_second_app_gets_the_first_ones_builders_bound_to_its_own_rules():
    first, second = _shelf_app(), _shelf_app()
    a, b = _rule(first, "book"), _rule(second, "book")

    assert a is not b and _builders(a) == _builders(b)
    with second.test_request_context():
        assert url_for("book", shelf_id=7, slug="a b/c", q="x") == "/shelf/7/book/a%20b/c?q=x"
    assert b._build_unknown.__self__ is b  # bound to its own rule (and so to its converters)


def test_a_rule_with_a_default_for_its_own_variable_is_compiled_afresh():
    def rule_app() -> Flask:
        app = _app()
        app.url_rule_class = internals.BuildersOnceRule
        app.add_url_rule("/page/<int:n>", "page", lambda n: str(n), defaults={"n": 1})
        return app

    first, second = rule_app(), rule_app()
    a, b = _rule(first, "page"), _rule(second, "page")

    assert not set(_builders(a)) & set(_builders(b))
    assert all(_same_code(k, Rule._compile_builder(b, flag))
               for k, flag in zip(_builders(b), (False, True), strict=True))
    with second.test_request_context():
        assert url_for("page") == "/page/1" and url_for("page", q="x") == "/page/1?q=x"


# --------------------------------------------------------------------------- Flask-Mail


def test_the_message_attributes_the_outbox_reads_are_flask_mails():
    msg = Message(subject="Hello", recipients=["reader@example.test"], body="text",
                  html="<p>html</p>", sender="shop@example.test",
                  extra_headers={"List-Unsubscribe": "<https://shop.example/u>"})
    msg.msgId = "<fixed@bookstation.mail>"

    assert msg.alts == {"html": "<p>html</p>"}
    assert msg.send_to == {"reader@example.test"}
    assert (msg.attachments, msg.cc, msg.bcc, msg.reply_to) == ([], [], [], None)
    assert (msg.mail_options, msg.rcpt_options) == ([], [])
    assert msg.extra_headers == {"List-Unsubscribe": "<https://shop.example/u>"}
    app = _app()
    Mail(app)
    with app.app_context():
        assert b"Message-ID: <fixed@bookstation.mail>" in msg.as_bytes()
    assert not msg.has_bad_headers()
    assert Message(subject="a\nb", recipients=["x@example.test"],
                   sender="shop@example.test").has_bad_headers()


def test_the_outbox_sends_over_flask_mails_connection_as_flask_mail_does(smtp_inbox):
    from app.mail.smtp import send as _send

    app = _app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_inbox.port, MAIL_SUPPRESS_SEND=False,
               MAIL_DEFAULT_SENDER="Shop <shop@example.test>")
    mail = Mail(app)
    dispatched = []

    def on_dispatched(sender, message):
        dispatched.append(message.subject)

    email_dispatched.connect(on_dispatched, app)

    def message(subject: str) -> Message:
        return Message(subject=subject, recipients=["Reader <reader@example.test>"], body="b",
                       sender="Shop <shop@example.test>")

    with app.app_context(), mail.connect() as connection:
        assert isinstance(connection.host, smtplib.SMTP)
        connection.send(message("by Flask-Mail"))
        _send(connection, message("by the outbox"))

    (theirs_from, theirs_to, _), (ours_from, ours_to, _) = smtp_inbox.messages
    assert (ours_from, ours_to) == (theirs_from, theirs_to)
    assert dispatched == ["by Flask-Mail", "by the outbox"]


def test_flask_mails_connection_has_no_host_when_sending_is_suppressed():
    app = _app(MAIL_SUPPRESS_SEND=True)
    mail = Mail(app)

    with app.app_context(), mail.connect() as connection:
        assert connection.host is None
