"""The sender's database connection: autocommitted one-statement writes, made cheap on that
connection only, and statements run straight on the driver's cursor."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from flask import current_app

from app.core.extensions import db

log = logging.getLogger(__name__)


_sqlite_wal_checked: set[str] = set()


@contextlib.contextmanager
def sender_connection() -> Iterator[sa.Connection]:
    """The sender's own database connection for one pass, in autocommit mode.

    Every write of a pass is one statement (the claim, a cancellation, "sent", a failure), so
    each is its own transaction: one round trip, no BEGIN/COMMIT around it. Those many small
    commits are made cheap, on this connection only, and put back before it returns to the
    pool, so the shop's own transactions keep their durability:

    - SQLite: the database is switched to WAL once (a lasting property of the file; skip with
      MAIL_SQLITE_WAL = False) and this connection commits with synchronous=NORMAL: in WAL
      mode that never corrupts the file, but a power cut (not a crash of the process) may
      forget the last commits.
    - PostgreSQL: `synchronous_commit = off`: a commit returns before its WAL is flushed, so
      a crash of the database server may forget the last fraction of a second of bookkeeping.

    What such a loss costs is the same as a sender dying (see `deliver_due`): a message
    recorded as sent may be sent once more after its lease lapses. Nothing is lost.
    """
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        undo = _fast_commits(connection)
        try:
            yield connection
        finally:
            try:
                undo()
            except Exception:  # the connection broke; the pool discards it
                log.debug("could not restore the sender connection's settings", exc_info=True)


def _fast_commits(connection: sa.Connection) -> Callable[[], None]:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET synchronous_commit = off")
        return lambda: connection.exec_driver_sql("RESET synchronous_commit")
    if connection.dialect.name != "sqlite":
        return lambda: None
    driver = connection.connection.driver_connection
    url = str(connection.engine.url)
    if url not in _sqlite_wal_checked and current_app.config.get("MAIL_SQLITE_WAL", True):
        _sqlite_wal_checked.add(url)
        try:
            if driver.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
                driver.execute("PRAGMA journal_mode=WAL")
        except Exception:  # busy: stay in rollback mode; commits are just slower
            log.info("could not switch SQLite to WAL", exc_info=True)
    if driver.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return lambda: None
    before = int(driver.execute("PRAGMA synchronous").fetchone()[0])
    driver.execute("PRAGMA synchronous=NORMAL")
    return lambda: driver.execute(f"PRAGMA synchronous={before}")


class DriverStatement:
    """A Core statement compiled once for this connection's dialect and run straight on the
    DBAPI cursor, each parameter through its column type's bind processor. Only for the
    sender's autocommit connection, where each statement is its own transaction."""

    def __init__(self, connection: sa.Connection, stmt: sa.Executable) -> None:
        dialect = connection.dialect
        compiled = stmt.compile(dialect=dialect)
        self.connection = connection
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = list(compiled.positiontup or []) if compiled.positional else None
        self.fixed = compiled.construct_params()
        self.processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                           for name, bind in compiled.binds.items()}

    def execute(self, **values) -> int:
        params = {**self.fixed, **values}
        for name, process in self.processors.items():
            if process is not None and name in params:
                params[name] = process(params[name])
        cursor = self.connection.connection.driver_connection.cursor()
        try:
            if self.positional:
                cursor.execute(self.sql, tuple(params[name] for name in self.names))
            else:
                cursor.execute(self.sql, params)
            return cursor.rowcount
        finally:
            cursor.close()
