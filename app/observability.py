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

from app.extensions import db, limiter

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


WROTE = "bookstation.wrote"


def mark_written(connection: sa.Connection) -> None:
    """Tell end_reads_with_commit that this transaction wrote, for a write the engine's events
    do not see (a COPY on the driver's own cursor)."""
    connection.info[WROTE] = True


def end_reads_with_commit(app: Flask) -> None:
    """On PostgreSQL, a request whose transaction wrote nothing ends it with COMMIT, not ROLLBACK.

    psycopg forgets every prepared statement at a ROLLBACK (a rollback may undo the DDL they
    were planned against), and the session ends each request it did not commit with one: so
    every request planned its statements anew, and none ever reached psycopg's threshold (the
    5th run on a connection) to be prepared. For a transaction that wrote nothing, COMMIT and
    ROLLBACK are the same to the database. "Wrote nothing": only SELECTs ran in it (an engine
    event marks anything else, savepoints included; a write on the driver's own cursor calls
    mark_written), the session holds no unflushed change, and the request raised nothing;
    otherwise it rolls back as before. A SELECT with a lasting effect (nextval, pg_notify,
    set_config for the session, SELECT INTO) would count as a read: the app runs none.
    Measured in process on the large bench set: the customer search's SQL 3.4 -> 2.4 ms, the
    cart's 1.5 -> 0.7 ms. PG_COMMIT_READS=0 turns it off.
    """
    if not app.config.get("PG_COMMIT_READS", True):
        return
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return

    def on_begin(conn) -> None:
        conn.info[WROTE] = False

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            conn.info[WROTE] = True

    sa.event.listen(engine, "begin", on_begin)
    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)

    @app.teardown_request
    def commit_reads(exc: BaseException | None) -> None:
        if exc is not None:
            return
        session = db.session()
        if not session.in_transaction() or session.new or session.dirty or session.deleted:
            return
        try:
            if session.connection().info.get(WROTE, True):
                return
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
    end_reads_with_commit(app)
    app.register_blueprint(health)
