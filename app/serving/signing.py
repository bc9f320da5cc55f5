"""Signed cookies and tokens without redoing per request what follows from the secret key alone.

Every request reads the signed session cookie, and a page with a form (or a cached page the
front door answers) signs a CSRF token. itsdangerous derives the signing key from the secret
key and the salt for each signature it makes or checks, an HMAC of its own, and Flask builds
a new serializer for each request. Both follow from the keys alone:

- `KeptKeySigner` is itsdangerous's `TimestampSigner` with its documented override point,
  `derive_key`, answered from the keys already derived in this process: the same key, so the
  same signatures, each checked as before (expiry, the signature, every fallback key).
- `KeptSessionInterface` is Flask's signed-cookie session whose serializer, built as Flask
  builds it but with that signer, is kept until the secret key or its fallbacks change. It
  also keeps what a cookie holding only plain values (a member's login, a CSRF token; not a
  cart or a flashed message) decoded to, with the time it was signed: the same cookie, sent
  again by the same browser, is then checked for its age only. Its signature was checked the
  first time, and a cookie is the same text only if its signature is the same.

A cookie or token either writes is read by the library's own, and the other way round
(tests/serving/test_signing.py), so an upgrade that changes how either signs fails there.
"""

from __future__ import annotations

import time
from typing import ClassVar

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes

#: Derived keys kept per process at most: each is one (secret key, salt, derivation, digest),
#: a handful in all (the session's, the CSRF token's, each with the key's fallbacks).
KEYS_KEPT = 64
#: Session cookies whose decoding a process keeps at most (about 2 kB each, the cookie's text
#: with its data); when full, it starts afresh. Only browsers still browsing are of use.
SESSIONS_KEPT = 1_000
#: The values a kept session may hold: copying its dict then copies every value.
_PLAIN = (str, int, float, bool, type(None))


class KeptKeySigner(TimestampSigner):
    """itsdangerous's `TimestampSigner`, deriving each signing key once per process."""

    _derived: ClassVar[dict[tuple, bytes]] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        key = (secret, self.salt, self.key_derivation, self.digest_method)
        derived = self._derived.get(key)
        if derived is None:
            derived = super().derive_key(secret)
            if len(self._derived) < KEYS_KEPT:
                self._derived[key] = derived
        return derived


def kept_serializer(secret_key: str | bytes, salt: str) -> URLSafeTimedSerializer:
    """`URLSafeTimedSerializer(secret_key, salt=salt)` signing with `KeptKeySigner`."""
    return URLSafeTimedSerializer(secret_key, salt=salt, signer=KeptKeySigner)


class KeptSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session (same cookie, same signature, same key rotation through
    SECRET_KEY_FALLBACKS), with its serializer kept while the keys stay the same."""

    def __init__(self) -> None:
        self._kept: tuple[tuple, URLSafeTimedSerializer] | None = None
        # cookie -> (the serializer that checked it, its data, the time it was signed)
        self._decoded: dict[str, tuple[URLSafeTimedSerializer, dict, int]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        # As Flask's: the fallbacks first, the current key last (itsdangerous signs with it).
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        kept = self._kept
        if kept is None or kept[0] != keys:
            serializer = URLSafeTimedSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer=KeptKeySigner,
                signer_kwargs={"key_derivation": self.key_derivation,
                               "digest_method": self.digest_method},
            )
            kept = self._kept = (keys, serializer)
        return kept[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Flask's `open_session`: the cookie's session if its signature holds and it is no
        older than the session's lifetime, else a new session; a cookie decoded before (by
        the same keys, holding plain values only) is not decoded again."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        decoded = self._decoded.get(value)
        if decoded is None or decoded[0] is not serializer:
            try:
                data, signed = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:  # a bad signature, or too old (SignatureExpired)
                return self.session_class()
            if not (isinstance(data, dict) and all(type(v) in _PLAIN for v in data.values())):
                return self.session_class(data)
            if len(self._decoded) >= SESSIONS_KEPT:
                self._decoded.clear()
            decoded = self._decoded[value] = (serializer, data, int(signed.timestamp()))
        age = int(time.time()) - decoded[2]  # as itsdangerous's TimestampSigner.unsign
        if age > max_age or age < 0:
            return self.session_class()
        return self.session_class(decoded[1])  # a copy: the kept dict is never changed


def install(app: Flask) -> None:
    """Sessions through `KeptSessionInterface`."""
    app.session_interface = KeptSessionInterface()
