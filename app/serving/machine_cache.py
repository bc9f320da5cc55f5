"""The cache shared by every worker process on one machine, for a shop without Redis.

Flask-Caching's SimpleCache is per process: with several gunicorn workers each rendered its
own copy of every page, and an edit that forgets the cached pages (`forget_pages`, a new
generation) reached only the worker that handled it, so the others served the old pages until
they expired. This backend keeps the cache in an LMDB file (`CACHE_DIR`, default
`instance/cache/`), memory-mapped by every process that opens it: a value stored by one
worker is read by all, a forgotten key is gone for all, and the stored pages live in the
operating system's page cache rather than in each worker's heap.

LMDB readers take no lock; writers queue on a mutex (no sleeping and retrying, unlike
SQLite's busy handler). Nothing is synced to disk: it is a cache, and a crash loses only what
would be recomputed. Entries carry their expiry; an expired one reads as missing, and an index
in time order lets each worker sweep the expired ones a few hundred at a time, every 64 of its
writes. Should live entries fill half the map (`CACHE_MAP_MB`), everything is dropped, as a
cache may: LMDB reuses a freed page only two transactions later, so room is made while there
is still some.

It is used through Flask-Caching's public backend interface (`CACHE_TYPE` names this class);
config.py picks it when there is no `REDIS_URL`. Each process opens the file itself, after
gunicorn forks it (an LMDB environment must not cross a fork). The workers forked from one
gunicorn master share it (`factory`); a CLI command in another process has a cache of its own,
as before.
"""

from __future__ import annotations

import logging
import os
import pickle
import secrets
import struct
import threading
import time
from typing import Any

import lmdb
from flask import Flask
from flask_caching.backends.base import BaseCache

log = logging.getLogger(__name__)

_EXPIRY = struct.Struct("<d")  # a value's header: seconds since the epoch; 0.0: never
_INDEX = struct.Struct(">d")  # the expiry index's keys begin with it: sorted by time

# LMDB allows one open environment per file per process: every cache on one path shares it
# (several apps in one process: tests, the CLI). Keyed by process, so that a forked child
# (a gunicorn worker) opens its own.
_Opened = tuple[lmdb.Environment, object, object]  # the environment, `values`, `expiry`
_ENVIRONMENTS: dict[tuple[int, str], _Opened] = {}
_OPENING = threading.Lock()


def environment(path: str, map_size: int) -> _Opened:
    """This process's LMDB environment at `path` with its two databases (opened on first
    use)."""
    key = (os.getpid(), path)
    opened = _ENVIRONMENTS.get(key)
    if opened is None:
        with _OPENING:
            opened = _ENVIRONMENTS.get(key)
            if opened is None:
                for inherited in [k for k in _ENVIRONMENTS if k[1] == key[1]]:
                    # The parent's, inherited through fork: closed here without being used,
                    # so that this process may open the file itself (py-lmdb refuses a
                    # second environment on one file in a process).
                    _ENVIRONMENTS.pop(inherited)[0].close()
                os.makedirs(path, mode=0o700, exist_ok=True)
                env = lmdb.open(path, map_size=map_size, subdir=True, sync=False,
                                metasync=False, readahead=False, max_readers=512, lock=True,
                                max_dbs=2)
                opened = _ENVIRONMENTS[key] = (env, env.open_db(b"values"),
                                               env.open_db(b"expiry"))
    return opened


class MachineCache(BaseCache):
    """Flask-Caching backend over one LMDB environment at `path`, shared by processes.

    Two databases in it: `values` (key -> expiry header + pickled value) and `expiry`, an
    index of the entries that expire (expiry time + key), in time order, so that a sweep
    visits only what has expired."""

    def __init__(self, path: str, map_mb: int = 512, key_prefix: str = "",
                 default_timeout: int = 300, check_every: int = 64, **_ignored: Any) -> None:
        super().__init__(default_timeout=default_timeout)
        self.path = os.path.realpath(path)  # one environment per file, however it is named
        self.map_size = int(map_mb) * 1024 * 1024
        self.key_prefix = key_prefix
        self.check_every = check_every
        self._writes = 0

    @classmethod
    def factory(cls, app: Flask, config: dict, args: list, kwargs: dict) -> MachineCache:
        """The app's cache: its keys begin with CACHE_KEY_PREFIX and a mark drawn when the app
        is built. gunicorn builds it once in its master (preload) and forks the workers, so
        they share one mark; a new server start, or another process (a CLI command, a second
        server on another database), has its own, and starts with an empty cache as it did
        when each process kept its own: nothing rendered by older code or for another
        database is ever read. Old entries go with the sweeps."""
        path = config.get("CACHE_DIR") or os.path.join(app.instance_path, "cache")
        kwargs.pop("ignore_delete_many_errors", None)
        prefix = f"{config.get('CACHE_KEY_PREFIX') or ''}{secrets.token_hex(6)}:"
        return cls(path, *args, map_mb=config.get("CACHE_MAP_MB", 512), key_prefix=prefix,
                   **kwargs)

    # ------------------------------------------------------------------ the environment

    @property
    def env(self) -> lmdb.Environment:
        """This process's environment (opened again in a forked child)."""
        return environment(self.path, self.map_size)[0]

    def _dbs(self) -> _Opened:
        return environment(self.path, self.map_size)

    def _key(self, key: str) -> bytes:
        return (self.key_prefix + key).encode()

    def _expiry(self, timeout: int | None) -> float:
        seconds = self._normalize_timeout(timeout)
        return 0.0 if seconds == 0 else time.time() + seconds

    @staticmethod
    def _decode(raw: bytes | None, now: float) -> Any:
        if raw is None:
            return None
        (expires,) = _EXPIRY.unpack_from(raw)
        if expires and expires <= now:
            return None
        return pickle.loads(memoryview(raw)[_EXPIRY.size:])

    @staticmethod
    def _encode(value: Any, expires: float) -> bytes:
        return _EXPIRY.pack(expires) + pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def _write(self, work) -> Any:
        """Run `work(txn, values, expiry)` in a write transaction. Every `check_every` writes
        of this process, room is made (`make_room`); a write that finds the map full anyway
        is dropped (a cache may lose a write) after making room for the next ones."""
        self._writes += 1
        if self._writes % self.check_every == 0:
            self.make_room()
        env, values, expiry = self._dbs()
        try:
            with env.begin(write=True) as txn:
                return work(txn, values, expiry)
        except lmdb.MapFullError:
            log.warning("machine cache full: a write was dropped, room is being made")
            self.make_room(full=True)
            return None

    @staticmethod
    def _put(txn, values, expiry, name: bytes, data: bytes) -> bool:
        """Store `data` (header included) at `name`, keeping the expiry index in step."""
        MachineCache._unindex(txn, values, expiry, name)
        (expires,) = _EXPIRY.unpack_from(data)
        if expires:
            txn.put(_INDEX.pack(expires) + name, b"", db=expiry)
        return txn.put(name, data, db=values)

    @staticmethod
    def _unindex(txn, values, expiry, name: bytes) -> bytes | None:
        old = txn.get(name, db=values)
        if old is not None:
            (expires,) = _EXPIRY.unpack_from(old)
            if expires:
                txn.delete(_INDEX.pack(expires) + name, db=expiry)
        return old

    @staticmethod
    def _remove(txn, values, expiry, name: bytes) -> bool:
        if MachineCache._unindex(txn, values, expiry, name) is None:
            return False
        return txn.delete(name, db=values)

    # ------------------------------------------------------------------ the interface

    def get(self, key: str) -> Any:
        env, values, _ = self._dbs()
        with env.begin(db=values) as txn:
            return self._decode(txn.get(self._key(key)), time.time())

    def get_many(self, *keys: str) -> list[Any]:
        env, values, _ = self._dbs()
        now = time.time()
        with env.begin(db=values) as txn:
            return [self._decode(txn.get(self._key(k)), now) for k in keys]

    def has(self, key: str) -> bool:
        env, values, _ = self._dbs()
        with env.begin(db=values) as txn:
            raw = txn.get(self._key(key))
            if raw is None:
                return False
            (expires,) = _EXPIRY.unpack_from(raw)
            return not expires or expires > time.time()

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        data = self._encode(value, self._expiry(timeout))
        name = self._key(key)
        return bool(self._write(lambda txn, v, e: self._put(txn, v, e, name, data)))

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        data = self._encode(value, self._expiry(timeout))
        name = self._key(key)

        def work(txn, values, expiry) -> bool:
            if self._decode(txn.get(name, db=values), time.time()) is not None:
                return False
            return self._put(txn, values, expiry, name, data)

        return bool(self._write(work))

    def set_many(self, mapping: dict[str, Any], timeout: int | None = None) -> list[Any]:
        expires = self._expiry(timeout)
        items = [(self._key(k), self._encode(v, expires)) for k, v in mapping.items()]

        def work(txn, values, expiry) -> list[Any]:
            for name, data in items:
                self._put(txn, values, expiry, name, data)
            return list(mapping)

        return self._write(work) or []

    def delete(self, key: str) -> bool:
        name = self._key(key)
        return bool(self._write(lambda txn, v, e: self._remove(txn, v, e, name)))

    def delete_many(self, *keys: str) -> list[Any]:
        names = [(k, self._key(k)) for k in keys]
        return self._write(lambda txn, v, e: [
            k for k, name in names if self._remove(txn, v, e, name)]) or []

    def inc(self, key: str, delta: int = 1) -> int | None:
        return self._add_to(key, delta)

    def dec(self, key: str, delta: int = 1) -> int | None:
        return self._add_to(key, -delta)

    def _add_to(self, key: str, delta: int) -> int | None:
        name = self._key(key)

        def work(txn, values, expiry) -> int:
            raw = txn.get(name, db=values)
            expires = _EXPIRY.unpack_from(raw)[0] if raw is not None else 0.0
            value = (self._decode(raw, time.time()) or 0) + delta
            self._put(txn, values, expiry, name, self._encode(value, expires))
            return value

        return self._write(work)

    def clear(self) -> bool:
        env, values, expiry = self._dbs()
        with env.begin(write=True) as txn:
            txn.drop(values, delete=False)
            txn.drop(expiry, delete=False)
        return True

    # ------------------------------------------------------------------ housekeeping

    def used(self) -> float:
        """The share of the map the entries fill (pages in use: freed pages not counted)."""
        env, values, expiry = self._dbs()
        pages = 0
        with env.begin() as txn:
            for db in (values, expiry):
                stat = txn.stat(db)
                pages += stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
                psize = stat["psize"]
        return pages * psize / self.map_size

    def make_room(self, full: bool = False) -> None:
        """Sweep what has expired (a few hundred entries at a time: run every `check_every`
        writes, it keeps up). If live entries still fill more than half the map, or a write
        found it `full` with nothing expired, drop every entry. Done at half, not at full: LMDB
        reuses a freed page only two transactions later, so the map must still have room
        then (a write that finds it full anyway is dropped)."""
        # A worker killed in the middle of a read (gunicorn's timeout) leaves its reader slot
        # behind, and the snapshot it held would keep every page freed since from reuse.
        self.env.reader_check()
        swept = self.sweep(limit=None if full else 500)
        if (full and not swept) or self.used() > 0.5:
            log.warning("machine cache half full of live entries: dropping every entry")
            self.clear()

    def sweep(self, limit: int | None = None) -> int:
        """Delete expired entries, the oldest first, at most `limit`; returns how many."""
        env, values, expiry = self._dbs()
        now = _INDEX.pack(time.time())
        swept = 0
        with env.begin(write=True) as txn:
            cursor = txn.cursor(db=expiry)
            while cursor.first() and (limit is None or swept < limit):
                entry = cursor.key()
                if entry[:_INDEX.size] > now:
                    break
                cursor.delete()
                txn.delete(entry[_INDEX.size:], db=values)
                swept += 1
        return swept

    def keys(self) -> list[str]:
        """Every key held (expired ones included), without the prefix: for tests and tools."""
        env, values, _ = self._dbs()
        with env.begin(db=values) as txn:
            return [bytes(k).decode()[len(self.key_prefix):]
                    for k in txn.cursor().iternext(values=False)]
