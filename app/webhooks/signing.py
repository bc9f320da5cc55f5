"""The signature of a delivery: `Bookstation-Signature: t=<unix time>,v1=<hex>`, where hex is
HMAC-SHA256 keyed with the endpoint's secret over "<t>.<body>" (the body's exact bytes).

A receiver recomputes it over the raw body it got, compares in constant time, and refuses a
`t` too far from its own clock (a replayed capture). docs/WEBHOOKS.md shows it in Python and
in a shell.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh endpoint secret: 32 random bytes, URL-safe, with a recognisable prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _bytes(body: str | bytes) -> bytes:
    return body.encode() if isinstance(body, str) else body


def signature(secret: str, timestamp: int, body: str | bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
    message = str(int(timestamp)).encode() + b"." + _bytes(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: str | bytes, timestamp: int | None = None) -> str:
    """The Bookstation-Signature header's value for `body` sent at `timestamp` (now)."""
    stamp = int(time.time() if timestamp is None else timestamp)
    return f"t={stamp},v1={signature(secret, stamp, body)}"


def verify(secret: str, body: str | bytes, header: str | None, *, now: float | None = None,
           tolerance: int | None = TOLERANCE_SECONDS) -> bool:
    """Whether `header` signs `body` with `secret`, at a time within `tolerance` seconds of
    `now` (None: any time). What a receiver does; the tests use it too."""
    if not header:
        return False
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        stamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - stamp) > tolerance:
            return False
    expected = signature(secret, stamp, body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
