"""Production plumbing: structured logs on stdout, `/healthz`, and trusting a reverse proxy.

- `configure_logging(app)`: with `LOG_FORMAT=json` (the production default) every log record,
  the app's and the libraries', is one JSON object a line on stdout, where a process manager or
  a log shipper collects it. Otherwise Flask's own handler is left as it is.
- `/healthz` (endpoint `health.healthz`): `SELECT 1` on the database; 200 with
  `{"status": "ok", ...}` or 503 with `{"status": "unavailable", ...}`. No login, no rate limit,
  no session cookie, never cached; for load balancers and orchestrators.
- `TRUST_PROXY_HOPS=N`: behind N proxies, take the client address, scheme and host from the
  X-Forwarded-* headers they set (werkzeug's ProxyFix), so rate limits and secure cookies see
  the real client.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, has_request_context, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.core.extensions import db, limiter
from app.core.signals import before_driver_write

log = logging.getLogger(__name__)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged too.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request and any `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["method"] = request.method
            entry["path"] = request.path
            entry["remote"] = request.remote_addr
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is at the time (it may be replaced after start-up)."""

    _bookstation_json = True

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        return None


def configure_logging(app: Flask) -> None:
    """JSON lines on stdout for the whole process when LOG_FORMAT is "json"."""
    level = logging.getLevelName(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    if app.config.get("LOG_FORMAT") != "json":
        return
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_bookstation_json", False)]:
        root.removeHandler(old)  # create_app called twice in one process: one handler
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    # Flask's default handler writes plain text to stderr; records now go to the root handler.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)


def trust_proxy(app: Flask) -> None:
    hops = int(app.config.get("TRUST_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_prefix=hops)  # type: ignore[method-assign]


# --------------------------------------------------------------------------- health

health = Blueprint("health", __name__)


@health.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    began = time.perf_counter()
    try:
        db.session.execute(sa.select(sa.literal(1))).scalar_one()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: database unavailable: %s", exc.__class__.__name__)
        body = {"status": "unavailable", "database": "unreachable"}
        status = 503
    else:
        body = {"status": "ok", "database": "ok"}
        status = 200
    body["elapsed_ms"] = round((time.perf_counter() - began) * 1000, 2)
    response = current_app.json.response(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status


def tune_postgres(app: Flask) -> None:
    """Planner settings for each new PostgreSQL connection (PG_RANDOM_PAGE_COST, default 1.1).

    With PostgreSQL's default of 4 (spinning disks) the planner prices the trigram index's
    random reads so high that it scans all 100,000 books for a search instead (400 ms rather
    than 18 ms, EXPLAIN ANALYZE in bench/README.md); 1.1 is the usual value for SSDs.
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


def tune_sqlite(app: Flask) -> None:
    """Pragmas for each new connection to a SQLite file (SQLITE_WAL, default on).

    WAL lets readers run while one connection writes (several gunicorn workers, the mail
    sender), and with `synchronous=NORMAL` a commit no longer waits for fsync: measured in
    process on the demo data, a commit took 19 ms with the default rollback journal on this
    machine. An application crash loses nothing; a power cut may lose the last commits but never
    corrupts the file (SQLite's documentation; Rails 8 ships the same defaults). Foreign keys are
    enforced, as PostgreSQL always does.
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
        finally:
            cursor.close()

    sa.event.listen(engine, "connect", on_connect)


WROTE = "bookstation.wrote"  # this transaction ran something other than a plain read
UNBEGUN = "bookstation.unbegun"  # this transaction's BEGIN is put off until its first write

# What makes a SELECT more than a read (a conservative test: "not a plain read" only costs a
# transaction). Statements come with bound parameters, so no user text is searched here.
_NOT_A_READ = ("FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE", " INTO ",
               "NEXTVAL(", "SETVAL(", "SET_CONFIG(", "PG_NOTIFY(", "ADVISORY",
               # values fixed for a whole transaction: read them inside it
               "NOW(", "CURRENT_TIMESTAMP", "TXID_", "XACT_ID")
_plain_reads: dict[str, bool] = {}  # SQLAlchemy reuses each compiled statement's string


def is_plain_read(statement: str) -> bool:
    """A SELECT that locks no row and, as far as its text shows, has no lasting effect."""
    known = _plain_reads.get(statement)
    if known is None:
        text = statement.lstrip().upper()
        known = text.startswith("SELECT") and not any(word in text for word in _NOT_A_READ)
        if len(_plain_reads) >= 5_000:
            _plain_reads.clear()
        _plain_reads[statement] = known
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
      transaction is another; a page that only reads paid two round trips for nothing. So
      each transaction starts with the driver in autocommit, and before the first statement
      that is not a plain read (`is_plain_read`: an INSERT, UPDATE, DELETE, SAVEPOINT, SET, a
      SELECT ... FOR UPDATE or with an effect, a server-side cursor; or mark_written) autocommit
      goes off, so BEGIN goes out just before it. This changes nothing a statement sees: at
      READ COMMITTED, the isolation this app runs at, every statement takes a new snapshot
      inside a transaction too. What differs: a read's table lock (ACCESS SHARE, which only
      DDL waits for) ends with the statement, so a migration may commit between a request's
      reads and its first write, as with any autocommit client; and a read that fails does
      not abort what follows. Everything from the first write on is one transaction, as
      before; row locks (FOR UPDATE) are taken inside it. A connection under another
      isolation level (the mail sender's AUTOCOMMIT, or a server whose default is not READ
      COMMITTED) is left alone. At the end, COMMIT and ROLLBACK of a transaction never begun
      send nothing (psycopg), and the connection goes back to the pool as the driver made it.
    - **COMMIT for a read-only request** (`PG_COMMIT_READS`, default on; matters when BEGIN is
      not put off). psycopg forgets every prepared statement at a ROLLBACK, and the session
      ends each request it did not commit with one: so every request planned its statements
      anew. A request that raised nothing, holds no unflushed change and ran only plain reads
      ends with COMMIT, the same as a ROLLBACK to the database; anything else rolls back.

    Measured in process on the large bench set, COMMIT for reads took the customer search's
    SQL from 3.4 to 2.4 ms and the cart's from 1.5 to 0.7 ms; see bench/README.md for BEGIN.
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
        if not is_plain_read(statement) or (
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


def ping_idle_connections(app: Flask) -> None:
    """Test a pooled connection before use when it sat idle DB_PING_IDLE_SECONDS or longer.

    SQLAlchemy's recipe for custom pessimistic disconnect handling: a checkout listener that
    raises DisconnectionError makes the pool drop that connection and hand out another (a
    new one if need be). Connections dropped by a database restart or an idle timeout are
    caught, as with pool_pre_ping, without a round trip for each of the many checkouts a
    busy server makes within seconds of each other.
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


def register(app: Flask) -> None:
    configure_logging(app)
    trust_proxy(app)
    tune_postgres(app)
    tune_sqlite(app)
    ping_idle_connections(app)
    watch_transactions(app)
    app.register_blueprint(health)
