"""Small helpers over Flask-Caching (`app.core.extensions.cache`).

The cache is Redis when `REDIS_URL` is set (shared by every app server and worker), and
otherwise an LMDB file shared by the worker processes of this machine
(app.serving.machine_cache; config.py picks `CACHE_TYPE`; the tests use a SimpleCache per app).
It only ever holds what is the same for every visitor; a broken cache makes pages slower, never
failing: errors are logged and the value is computed as if nothing were cached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import current_app

from app.core.extensions import cache

log = logging.getLogger(__name__)
T = TypeVar("T")


def remember(key: str, seconds: int, compute: Callable[[], T]) -> T:
    """The cached value for `key`, or `compute()` stored for `seconds` (0 or less: no cache)."""
    if seconds <= 0:
        return compute()
    value = lookup(key)
    if value is not None:
        return value
    value = compute()
    if value is not None:
        store(key, value, seconds)
    return value


def lookup(key: str) -> object | None:
    """The cached value for `key`, or None (also when the cache is unreachable)."""
    try:
        return cache.get(key)
    except Exception:  # a cache outage must not take pages down with it
        log.exception("cache read failed for %s", key)
        return None


def lookup_many(*keys: str) -> list[object | None]:
    """The cached values for `keys` in one round trip (None for each one missing, and for all
    when the cache is unreachable)."""
    try:
        return list(cache.get_many(*keys))
    except Exception:
        log.exception("cache read failed for %s", keys)
        return [None] * len(keys)


def store(key: str, value: object, seconds: int) -> None:
    try:
        cache.set(key, value, timeout=seconds)
    except Exception:
        log.exception("cache write failed for %s", key)


def forget(*keys: str) -> None:
    """Drop cached values at once (after a change that must show before they expire)."""
    try:
        cache.delete_many(*keys)
    except Exception:
        log.exception("cache delete failed for %s", keys)


def per_locale(key: str) -> list[str]:
    """`key` for every language the shop speaks (for values rendered in one language)."""
    return [f"{key}:{lang}" for lang in current_app.config["LANGUAGES"]]
