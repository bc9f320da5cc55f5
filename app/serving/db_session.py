"""How the app uses its database connections: settings for each new connection, testing a pooled
connection that sat idle, and, on PostgreSQL, transactions that begin at their first write and
end with COMMIT when they only read.

`register(app)` installs them all on the app's engine (each also stands alone):

- `tune_sqlite`: foreign keys, WAL and `synchronous=NORMAL` for each SQLite connection;
- `tune_postgres`: the planner's `random_page_cost` for each PostgreSQL connection;
- `describe_once`: each PostgreSQL connection's cursors describe the columns of each shape of
  result once (app.serving.pg_cursor);
- `ping_idle_connections`: a pooled connection idle for DB_PING_IDLE_SECONDS is tested first;
- `keep_read_connections`: a few connections kept out of the pool in autocommit, for one plain
  read that runs on most requests (`kept_read_connection`);
- `watch_transactions`: on PostgreSQL, BEGIN only before a transaction's first write
  (PG_LAZY_BEGIN) and COMMIT for a request that only read (PG_COMMIT_READS). What counts as a
  write is read from the statement SQLAlchemy runs (`is_plain_read`); a write the engine's
  events do not see (a COPY on the driver's own cursor) calls `mark_written` first.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import ColumnClause, TextClause
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import ForUpdateArg, SelectBase

from app.core.extensions import db
from app.core.signals import before_driver_write

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    tune_postgres(app)
    describe_once(app)
    tune_sqlite(app)
    ping_idle_connections(app)
    keep_read_connections(app)
    watch_transactions(app)


# --------------------------------------------------------------------------- new connections


def tune_postgres(app: Flask) -> None:
    """Planner settings for each new PostgreSQL connection (PG_RANDOM_PAGE_COST, default 1.1).

    With PostgreSQL's default of 4 (for spinning disks) the planner prices the trigram index's
    random reads so high that it scans every book for a search instead; 1.1 is the usual
    value for SSDs.
    """
    cost = app.config.get("PG_RANDOM_PAGE_COST")
    if not cost:
        return
    value = float(cost)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return

    def on_connect(dbapi_connection, connection_record) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT set_config('random_page_cost', %s, false)", (str(value),))
        dbapi_connection.commit()

    sa.event.listen(engine, "connect", on_connect)


def describe_once(app: Flask) -> None:
    """Each new PostgreSQL connection gets `pg_cursor.DescribedOnceCursor` as its cursor: the
    description SQLAlchemy reads after each statement is built once per shape of result."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    from app.serving import pg_cursor

    def on_connect(dbapi_connection, connection_record) -> None:
        pg_cursor.use_on(dbapi_connection)

    sa.event.listen(engine, "connect", on_connect)


def tune_sqlite(app: Flask) -> None:
    """Pragmas for each new connection to a SQLite file (SQLITE_WAL, default on).

    WAL lets readers run while one connection writes (several gunicorn workers, the mail
    sender), and with `synchronous=NORMAL` a commit does not wait for fsync. An application
    crash loses nothing; a power cut may lose the last commits but never corrupts the file
    (SQLite's documentation). Foreign keys are enforced, as PostgreSQL always does.
    """
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    wal = app.config.get("SQLITE_WAL", True) and engine.url.database not in (None, "", ":memory:")

    def on_connect(dbapi_connection, connection_record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
                connection_record.info[_BUSY_MS] = cursor.execute(
                    "PRAGMA busy_timeout").fetchone()[0]
        finally:
            cursor.close()

    sa.event.listen(engine, "connect", on_connect)
    if wal and app.config.get("SQLITE_POLL_WRITE_LOCK", True):
        sa.event.listen(engine, "before_cursor_execute", _take_write_lock)


# --------------------------------------------------------------------------- SQLite's write lock

_BUSY_MS = "bookstation.busy_ms"  # the connection's own busy timeout, read when it connects
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")
WRITE_LOCK_FIRST_WAIT = 0.00005  # seconds; doubled after each try, up to WRITE_LOCK_MAX_WAIT
WRITE_LOCK_MAX_WAIT = 0.0001


def _take_write_lock(conn, cursor, statement, parameters, context, executemany) -> None:
    """Before a transaction's first write on SQLite (WAL), take the database's write lock with
    BEGIN IMMEDIATE, trying again every fraction of a millisecond while another connection
    holds it.

    The driver would begin the transaction itself before the same statement (Python's sqlite3
    begins one before an INSERT, UPDATE, DELETE or REPLACE, and only then), and SQLite's own
    busy handler would wait for the lock, but that handler sleeps 1, 2, 5, 10, 15 ms... between
    tries: a worker waiting for a checkout that holds the lock for 3 ms slept 5-8 ms, idle.
    Here the waits start at WRITE_LOCK_FIRST_WAIT and never exceed WRITE_LOCK_MAX_WAIT, a
    tenth of a millisecond, so a waiter resumes about that soon after the holder's commit (a
    failed try costs a few microseconds), for as long as the connection's busy timeout
    allows; past it, or on any other error, the statement goes on as before (the driver's
    BEGIN, SQLite's handler, its error). Retrying BEGIN IMMEDIATE is safe: it fails before the
    transaction starts, holding nothing."""
    dbapi_connection = cursor.connection
    if dbapi_connection.in_transaction or dbapi_connection.isolation_level is None or \
            not statement.lstrip()[:7].upper().startswith(_DML):
        return  # in a transaction already, autocommitting (the mail sender), or a read
    busy_ms = conn.info.get(_BUSY_MS)
    if not busy_ms:
        return
    deadline = time.monotonic() + busy_ms / 1000
    wait = WRITE_LOCK_FIRST_WAIT
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", sqlite3.SQLITE_BUSY) != sqlite3.SQLITE_BUSY \
                        or time.monotonic() + wait > deadline:
                    return  # the statement runs as it would have: it meets the same
            time.sleep(wait)
            wait = min(wait * 2, WRITE_LOCK_MAX_WAIT)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


# --------------------------------------------------------------------------- the pool


def ping_idle_connections(app: Flask) -> None:
    """Test a pooled connection before use when it sat idle DB_PING_IDLE_SECONDS or longer.

    SQLAlchemy's recipe for custom pessimistic disconnect handling: a checkout listener that
    raises DisconnectionError makes the pool drop that connection and hand out another (a
    new one if need be). Connections dropped by a database restart or an idle timeout are
    caught, as with pool_pre_ping, without a round trip for each of the many checkouts a
    busy server makes within seconds of each other. A negative value turns it off.
    """
    idle = float(app.config.get("DB_PING_IDLE_SECONDS", 10))
    if idle < 0:
        return
    with app.app_context():
        engine = db.engine

    def on_checkin(dbapi_connection, connection_record) -> None:
        connection_record.info["idle_since"] = time.monotonic()

    def on_checkout(dbapi_connection, connection_record, connection_proxy) -> None:
        since = connection_record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle:
            return  # new, or in use a moment ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()  # end the transaction the driver may have begun
        except Exception as exc:
            raise sa.exc.DisconnectionError("pooled connection no longer usable") from exc

    sa.event.listen(engine, "checkin", on_checkin)
    sa.event.listen(engine, "checkout", on_checkout)


# --------------------------------------------------------------------------- kept reads

_KEPT_READS = "bookstation.kept_reads"
KEPT_READ_CONNECTIONS = 4  # per process: sync workers use one; threaded servers a few
# Connections opened by a parent process and inherited through fork: never used, closed or
# collected in the child (either would act on the parent's socket).
_INHERITED: list[sa.Connection] = []


class KeptReads:
    """Connections to one engine, kept out of the pool between uses, in autocommit.

    For one plain read that runs on most requests and alone (the front door's reader lookup):
    from the pool it pays a checkout, a transaction's begin and end and a reset each time,
    more than the read itself. Invariants: an idle kept connection holds no transaction
    (autocommit); at most `keep` are idle, the rest go back to the pool; one is used by one
    thread at a time; a connection opened by another process (the parent of a fork) is never
    used; a statement that fails gives its connection back (invalidated by SQLAlchemy when the
    database dropped it); one idle `idle_limit` seconds or more, or opened `recycle` seconds
    ago or more, is closed for good rather than used (the database may have dropped it, and
    the pool's idle test would not see it: it was not idle in the pool), and the next use
    takes a pooled one, tested by the pool's checkout if it sat idle; disposing of the engine
    closes the idle ones, and those in use on return. A disconnect that invalidates the pool
    does not reach the other idle kept ones: each then fails once, and the front door leaves
    that request to Flask.
    """

    def __init__(self, engine: sa.Engine, keep: int, idle_limit: float,
                 recycle: float = -1) -> None:
        self.engine = engine
        self.keep = keep
        self.idle_limit = idle_limit
        self.recycle = recycle
        # (process, last used, opened, the connection)
        self.idle: list[tuple[int, float, float, sa.Connection]] = []
        self.generation = 0  # one more at each dispose
        self.lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        generation = self.generation  # before taking one: a dispose from here on is seen
        pid = os.getpid()
        kept = self._take(pid)
        if kept is None:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            opened = time.monotonic()
        else:
            opened, connection = kept
        try:
            yield connection
        except BaseException:
            _close(connection)
            raise
        with self.lock:
            if generation == self.generation and len(self.idle) < self.keep:
                self.idle.append((pid, time.monotonic(), opened, connection))
                return
        _close(connection, invalidate=generation != self.generation)

    def _take(self, pid: int) -> tuple[float, sa.Connection] | None:
        with self.lock:
            if not self.idle:
                return None
            owner, used, opened, connection = self.idle.pop()
        if owner != pid:
            with self.lock:  # this process's list was copied from its parent's: drop them all
                _INHERITED.extend(entry[-1] for entry in self.idle)
                self.idle.clear()
            _INHERITED.append(connection)
            return None
        now = time.monotonic()
        if (0 <= self.idle_limit <= now - used) or (0 < self.recycle <= now - opened):
            _close(connection, invalidate=True)
            return None
        return opened, connection

    def close_idle(self, _engine: sa.Engine | None = None) -> None:
        """Close this process's idle connections (the engine's `engine_disposed` event)."""
        pid = os.getpid()
        with self.lock:
            self.generation += 1
            idle, self.idle = self.idle, []
        for owner, _used, _opened, connection in idle:
            if owner == pid:
                _close(connection, invalidate=True)  # the pool it came from is gone
            else:
                _INHERITED.append(connection)


def _close(connection: sa.Connection, invalidate: bool = False) -> None:
    """Give `connection` back to its pool, or with `invalidate` close its DBAPI connection
    (after Engine.dispose the pool it would go back to is no longer the engine's)."""
    try:
        if invalidate:
            connection.invalidate()
        connection.close()
    except Exception:  # a connection the database dropped: nothing left to close
        log.debug("could not close a kept read connection", exc_info=True)


def keep_read_connections(app: Flask) -> None:
    """Keep up to KEPT_READ_CONNECTIONS connections for `kept_read_connection` (0: none,
    each use takes a pooled one and gives it back)."""
    keep = int(app.config.get("KEPT_READ_CONNECTIONS", KEPT_READ_CONNECTIONS))
    with app.app_context():
        engine = db.engine
    if isinstance(engine.pool, (sa.pool.StaticPool, sa.pool.SingletonThreadPool)):
        return  # one connection shared by every user (in-memory SQLite): never autocommit it
    recycle = (app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).get("pool_recycle", -1)
    kept = app.extensions[_KEPT_READS] = KeptReads(
        engine, keep, float(app.config.get("DB_PING_IDLE_SECONDS", 10)), float(recycle))
    sa.event.listen(engine, "engine_disposed", kept.close_idle)


@contextmanager
def kept_read_connection() -> Iterator[sa.Connection]:
    """A connection of the current app's engine in autocommit, kept for the next use, for
    plain reads outside the request's session (KeptReads). Each statement is its own
    transaction. A failing statement closes the connection and the error propagates. Apps
    that did not `register` get a pooled connection, as `db.engine.connect()` gives."""
    kept: KeptReads | None = current_app.extensions.get(_KEPT_READS)
    if kept is None:
        with db.engine.connect() as connection:
            yield connection
        return
    with kept.connection() as connection:
        yield connection


# --------------------------------------------------------------------------- transactions

WROTE = "bookstation.wrote"  # this transaction ran something other than a plain read
UNBEGUN = "bookstation.unbegun"  # this transaction's BEGIN is put off until its first write

# PostgreSQL functions a SELECT may call with a lasting effect (sequences, settings,
# notifications, advisory locks), or whose value is fixed for the whole transaction (read
# them inside it). Matched on the function's name, lower case.
_EFFECT_FUNCTIONS = frozenset({"nextval", "setval", "set_config", "pg_notify", "now",
                               "current_timestamp"})
_EFFECT_NAME_PARTS = ("advisory", "txid_", "xact_id")

# The same, and the locking clauses, for SQL written as text (`sa.text`, `exec_driver_sql`, a
# literal column): the only statements whose meaning SQLAlchemy does not know. Upper case;
# statements come with bound parameters, so no user text is searched here.
_NOT_A_READ_TEXT = ("FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE", " INTO ",
                    "NEXTVAL(", "SETVAL(", "SET_CONFIG(", "PG_NOTIFY(", "ADVISORY", "NOW(",
                    "CURRENT_TIMESTAMP", "TXID_", "XACT_ID")


def is_plain_read(statement: sa.ClauseElement) -> bool:
    """A SELECT (with its CTEs and subqueries, a UNION, a textual SELECT) that writes nothing
    (no INSERT, UPDATE or DELETE in a CTE), locks no row (no `with_for_update()` anywhere in
    it) and calls no function with a lasting effect; anything else (an INSERT, UPDATE or
    DELETE, a SAVEPOINT, SET, DDL) is not. Read from the statement's structure; only the parts
    written as SQL text are searched as text."""
    if isinstance(statement, TextClause):
        return _text_is_plain(statement.text, whole=True)
    if not isinstance(statement, SelectBase):
        return False
    for element in visitors.iterate(statement):
        if isinstance(element, ForUpdateArg | UpdateBase):
            return False
        if isinstance(element, FunctionElement) and _has_effect(element.name):
            return False
        if isinstance(element, TextClause) and not _text_is_plain(element.text):
            return False
        if isinstance(element, ColumnClause) and element.is_literal \
                and not _text_is_plain(element.name):
            return False
    return True


def _has_effect(name: str) -> bool:
    name = name.lower()
    return name in _EFFECT_FUNCTIONS or any(part in name for part in _EFFECT_NAME_PARTS)


def _text_is_plain(sql: str, whole: bool = False) -> bool:
    """SQL text with none of the words of `_NOT_A_READ_TEXT`; a `whole` statement must also
    be a SELECT."""
    text = sql.lstrip().upper()
    return (not whole or text.startswith("SELECT")) and not any(
        word in text for word in _NOT_A_READ_TEXT)


_plain_reads: dict[str, bool] = {}  # SQLAlchemy reuses each compiled statement's string


def _executes_plain_read(context, sql: str) -> bool:
    """Whether the statement about to run is a plain read (`is_plain_read`), known by its SQL
    string once classified. A statement SQLAlchemy did not compile (`exec_driver_sql`) is
    judged by its text."""
    known = _plain_reads.get(sql)
    if known is None:
        compiled = getattr(context, "compiled", None)
        if compiled is None or compiled.statement is None:
            known = _text_is_plain(sql, whole=True)
        else:
            known = not (context.isinsert or context.isupdate or context.isdelete) \
                and is_plain_read(compiled.statement)
        if len(_plain_reads) >= 5_000:
            _plain_reads.clear()
        _plain_reads[sql] = known
    return known


def mark_written(connection: sa.Connection) -> None:
    """Call before a write the engine's events do not see (a COPY on the driver's own cursor):
    begins the transaction now if it was put off (after the write, it would have committed on
    its own), and notes that it wrote (watch_transactions)."""
    if connection.info.get(UNBEGUN):
        _begin_now(connection)
    connection.info[WROTE] = True


def _begin_now(connection: sa.Connection) -> None:
    """psycopg sends BEGIN before the next statement once autocommit is off."""
    connection.connection.driver_connection.autocommit = False
    connection.info[UNBEGUN] = False


def watch_transactions(app: Flask) -> None:
    """On PostgreSQL: put off each transaction's BEGIN until it writes, and end a transaction
    that only read with COMMIT. Both save what a read costs the database and the driver.

    - **BEGIN on the first write** (`PG_LAZY_BEGIN`, default on). psycopg sends BEGIN as a
      round trip of its own before a transaction's first statement, and the end of the
      transaction is another; a page that only reads would pay two round trips for nothing.
      So each transaction starts with the driver in autocommit, and before the first
      statement that is not a plain read (`is_plain_read`: an INSERT, UPDATE, DELETE,
      SAVEPOINT, SET, DDL, a SELECT with `with_for_update()` or a function with an effect; a
      server-side cursor, execution option `stream_results`; or `mark_written`) autocommit
      goes off, so BEGIN goes out just before it. This changes nothing a statement sees: at
      READ COMMITTED, the isolation this app runs at, every statement takes a new snapshot
      inside a transaction too. What differs: a read's table lock (ACCESS SHARE, which only
      DDL waits for) ends with the statement, so a migration may commit between a request's
      reads and its first write, as with any autocommit client; and a read that fails does
      not abort what follows. Everything from the first write on is one transaction;
      row locks (FOR UPDATE) are taken inside it. A connection under another isolation level
      (the mail sender's AUTOCOMMIT, or a server whose default is not READ COMMITTED) is
      left alone. At the end, COMMIT and ROLLBACK of a transaction never begun send nothing
      (psycopg), and the connection goes back to the pool as the driver made it.
    - **COMMIT for a read-only request** (`PG_COMMIT_READS`, default on; matters when BEGIN is
      not put off). psycopg forgets every prepared statement at a ROLLBACK, and the session
      ends each request it did not commit with one, so every request would plan its
      statements anew. A request that raised nothing, holds no unflushed change and ran only
      plain reads ends with COMMIT, the same as a ROLLBACK to the database; anything else
      rolls back.
    """
    before_driver_write.connect(mark_written)  # a COPY (app.core.bulk) passes no engine event
    lazy = app.config.get("PG_LAZY_BEGIN", True)
    commit_reads = app.config.get("PG_COMMIT_READS", True)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql" or not (lazy or commit_reads):
        return
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    def on_begin(conn) -> None:
        conn.info[WROTE] = False
        if not lazy:
            return
        driver = conn.connection.driver_connection
        if (conn.get_execution_options().get("isolation_level")
                or conn.default_isolation_level != "READ COMMITTED"
                or driver.info.transaction_status != idle):
            conn.info[UNBEGUN] = False  # AUTOCOMMIT, or a level this is not written for
            return
        driver.autocommit = True
        conn.info[UNBEGUN] = True

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        info = conn.info
        if info.get(WROTE, True) and not info.get(UNBEGUN):
            return
        if not _executes_plain_read(context, statement) or (
                context is not None and context.execution_options.get("stream_results")):
            info[WROTE] = True
            if info.get(UNBEGUN):
                _begin_now(conn)

    def on_end(conn) -> None:  # before the driver's COMMIT or ROLLBACK (nothing to send)
        if conn.invalidated:  # the database dropped it: the pool discards it
            return
        if conn.info.get(UNBEGUN):
            try:
                _begin_now(conn)
            except Exception:  # not idle after all: never hand this connection out again
                log.warning("could not end autocommit; dropping the connection", exc_info=True)
                conn.invalidate()

    def on_checkin(dbapi_connection, connection_record) -> None:
        if dbapi_connection is not None and connection_record.info.get(UNBEGUN):
            try:  # ended without a commit or rollback event
                dbapi_connection.autocommit = False
                connection_record.info[UNBEGUN] = False
            except Exception:
                log.warning("could not end autocommit; dropping the connection", exc_info=True)
                connection_record.invalidate()

    sa.event.listen(engine, "begin", on_begin)
    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    if lazy:
        sa.event.listen(engine, "commit", on_end)
        sa.event.listen(engine, "rollback", on_end)
        sa.event.listen(engine, "checkin", on_checkin)
    if commit_reads:
        app.teardown_request(_commit_reads)


def _commit_reads(exc: BaseException | None) -> None:
    if exc is not None:
        return
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    try:
        info = session.connection().info
        if info.get(WROTE, True) or info.get(UNBEGUN):
            return  # a write rolls back; a transaction never begun has nothing to end
        session.commit()
    except SQLAlchemyError:  # the session's own teardown rolls back and closes
        log.warning("could not end a read-only transaction with COMMIT", exc_info=True)
