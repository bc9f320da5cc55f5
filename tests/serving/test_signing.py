"""Sessions and tokens signed with keys derived once (app.serving.signing) are the libraries'
own: each side reads what the other writes, a tampered or expired one is refused, and the
secret key's fallbacks still open old sessions. Run on bare Flask apps against the installed
Flask and itsdangerous, so an upgrade that changes how they sign fails here."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup

from app.serving import signing


def _app(secret="signing-secret", fallbacks=(), interface=None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secret, SECRET_KEY_FALLBACKS=list(fallbacks), TESTING=True)
    if interface is not None:
        app.session_interface = interface

    @app.get("/put/<value>")
    def put(value):
        session["value"] = value
        return "ok"

    @app.get("/get")
    def get():
        return session.get("value", "none")

    return app


def _cookie(app: Flask, value: str) -> str:
    client = app.test_client()
    client.get(f"/put/{value}")
    return client.get_cookie("session").value


def _read(app: Flask, cookie: str) -> str:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/get").get_data(as_text=True)


def test_a_kept_session_cookie_is_flasks_own_both_ways():
    ours = _app(interface=signing.KeptSessionInterface())
    flasks = _app(interface=SecureCookieSessionInterface())

    assert _read(flasks, _cookie(ours, "from-ours")) == "from-ours"
    assert _read(ours, _cookie(flasks, "from-flask")) == "from-flask"


def test_a_tampered_session_cookie_opens_an_empty_session():
    ours = _app(interface=signing.KeptSessionInterface())
    cookie = _cookie(ours, "genuine")
    payload, _dot, signature = cookie.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]

    assert _read(ours, forged) == "none"
    assert _read(_app(secret="another-secret", interface=signing.KeptSessionInterface()),
                 cookie) == "none"


def test_a_session_signed_with_a_retired_key_opens_under_its_fallback_and_a_new_key_takes_over():
    old = _cookie(_app(secret="old-secret", interface=signing.KeptSessionInterface()), "kept")
    interface = signing.KeptSessionInterface()
    rotated = _app(secret="new-secret", fallbacks=["old-secret"], interface=interface)

    assert _read(rotated, old) == "kept"
    assert _read(_app(secret="new-secret", interface=SecureCookieSessionInterface()),
                 _cookie(rotated, "fresh")) == "fresh"
    # The same interface, once the old key is retired for good, builds its serializer again.
    rotated.config["SECRET_KEY_FALLBACKS"] = []
    assert _read(rotated, old) == "none"


def test_an_expired_session_cookie_opens_an_empty_session():
    ours = _app(interface=signing.KeptSessionInterface())
    ours.permanent_session_lifetime = 1
    cookie = _cookie(ours, "short-lived")
    assert _read(ours, cookie) == "short-lived"

    time.sleep(2.1)
    assert _read(ours, cookie) == "none"


def _opened(app: Flask, interface, cookie: str):
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}) as context:
        return interface.open_session(app, context.request)


@pytest.mark.parametrize("value", ["plain", {"3": 1}])
def test_a_session_changed_in_one_request_opens_unchanged_in_the_next(value):
    interface = signing.KeptSessionInterface()
    app = _app(interface=interface)
    with app.test_request_context():
        cookie = interface.get_signing_serializer(app).dumps({"value": value, "n": 1})

    first = _opened(app, interface, cookie)
    first["n"] = 2
    first.setdefault("other", "x")
    if isinstance(value, dict):
        first["value"]["3"] = 5  # a cart line changed in place
    again = _opened(app, interface, cookie)

    assert dict(again) == {"value": value, "n": 1} and not again.modified
    assert again is not first


def test_only_sessions_of_plain_values_are_kept_and_no_more_than_the_limit(monkeypatch):
    monkeypatch.setattr(signing, "SESSIONS_KEPT", 3)
    interface = signing.KeptSessionInterface()
    app = _app(interface=interface)
    with app.test_request_context():
        serializer = interface.get_signing_serializer(app)
        plain = [serializer.dumps({"value": f"v{n}"}) for n in range(4)]
        nested = serializer.dumps({"cart": {"3": 1}})

    for cookie in [*plain[:3], nested]:
        _opened(app, interface, cookie)
    assert set(interface._decoded) == set(plain[:3])
    _opened(app, interface, plain[3])  # a fourth: the kept ones are dropped
    assert set(interface._decoded) == {plain[3]}
    assert _opened(app, interface, plain[0])["value"] == "v0"


@pytest.mark.parametrize("offset", [-5, 1, 3_600 + 1])
def test_a_kept_session_cookie_opens_only_while_its_age_is_within_the_lifetime(monkeypatch,
                                                                              offset):
    """Checked again each time, as itsdangerous checks it: older than the session's lifetime,
    or signed in the future (the clock went back), opens an empty session."""
    interface = signing.KeptSessionInterface()
    app = _app(interface=interface)
    app.permanent_session_lifetime = 3_600
    signed_at = time.time()
    monkeypatch.setattr(time, "time", lambda: signed_at)
    with app.test_request_context():
        cookie = interface.get_signing_serializer(app).dumps({"value": "kept"})
    assert _opened(app, interface, cookie)["value"] == "kept"  # decoded and kept

    monkeypatch.setattr(time, "time", lambda: signed_at + offset)
    opened = _opened(app, interface, cookie)

    assert cookie in interface._decoded
    assert dict(opened) == ({"value": "kept"} if 0 <= offset <= 3_600 else {})


@pytest.mark.parametrize("value", [("a", 1), b"raw", Markup("<b>x</b>"),
                                   datetime(2026, 12, 7, tzinfo=UTC), ["a"]])
def test_a_session_with_a_value_json_alone_cannot_carry_opens_as_flasks_and_is_not_kept(value):
    interface = signing.KeptSessionInterface()
    app = _app(interface=interface)
    with app.test_request_context():
        cookie = interface.get_signing_serializer(app).dumps({"value": value})

    ours, flasks = (_opened(app, interface, cookie),
                    _opened(app, SecureCookieSessionInterface(), cookie))

    assert dict(ours) == dict(flasks) == {"value": value}
    assert interface._decoded == {}


def test_a_kept_serializer_signs_as_itsdangerous_does_and_checks_age_and_salt():
    ours = signing.kept_serializer("token-secret", salt="wtf-csrf-token")
    theirs = URLSafeTimedSerializer("token-secret", salt="wtf-csrf-token")

    token = ours.dumps("raw-token")
    assert theirs.loads(token) == "raw-token"
    assert ours.loads(theirs.dumps("other")) == "other"
    with pytest.raises(BadSignature):
        signing.kept_serializer("token-secret", salt="another-salt").loads(token)
    with pytest.raises(BadSignature):
        signing.kept_serializer("wrong-secret", salt="wtf-csrf-token").loads(token)
    time.sleep(1.1)
    with pytest.raises(SignatureExpired):
        ours.loads(token, max_age=0)


def test_the_shop_signs_its_sessions_with_kept_keys(app):
    assert isinstance(app.session_interface, signing.KeptSessionInterface)
