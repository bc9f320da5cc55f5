"""Signed cookies and tokens without redoing per request what follows from the secret key alone.

Every request reads the signed session cookie, and a page with a form (or a cached page the
front door answers) signs a CSRF token. itsdangerous derives the signing key from the secret
key and the salt for each signature it makes or checks, an HMAC of its own, and Flask builds
a new serializer for each request. Both follow from the keys alone:

- `KeptKeySigner` is itsdangerous's `TimestampSigner` with its documented override point,
  `derive_key`, answered from the keys already derived in this process: the same key, so the
  same signatures, each checked as before (expiry, the signature, every fallback key).
- `KeptSessionInterface` is Flask's signed-cookie session whose serializer, built as Flask
  builds it but with that signer, is kept until the secret key or its fallbacks change.

A cookie or token either writes is read by the library's own, and the other way round
(tests/serving/test_signing.py), so an upgrade that changes how either signs fails there.
"""

from __future__ import annotations

from typing import ClassVar

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import want_bytes

#: Derived keys kept per process at most: each is one (secret key, salt, derivation, digest),
#: a handful in all (the session's, the CSRF token's, each with the key's fallbacks).
KEYS_KEPT = 64


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


def install(app: Flask) -> None:
    """Sessions through `KeptSessionInterface`."""
    app.session_interface = KeptSessionInterface()
