"""On SQLite (WAL), a transaction's first write waits for the database's write lock by trying
again every fraction of a millisecond (app.serving.db_session._take_write_lock), not in
SQLite's own steps of 1, 2, 5, 10 ms... Real files, real connections: another connection
holds the lock while the app's connection writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Category
from app.serving import db_session
from tests.factories import make_category


def _holder(app) -> sqlite3.Connection:
    """A second connection to the app's database file, holding the write lock."""
    with app.app_context():
        path = db.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _statements(connection: sa.Connection) -> list[str]:
    seen: list[str] = []
    connection.connection.dbapi_connection.set_trace_callback(seen.append)
    return seen


def test_a_write_waiting_for_the_lock_tries_again_until_the_holder_commits(app, monkeypatch):
    waits: list[float] = []
    real_sleep = db_session.time.sleep
    monkeypatch.setattr(db_session.time, "sleep", lambda s: (waits.append(s), real_sleep(s)))
    with app.app_context():
        category_id = make_category(slug="waiting", name="Waiting").id
        db.session.commit()
        holder = _holder(app)
        release = threading.Timer(0.1, holder.commit)
        with db.engine.connect() as connection:
            seen = _statements(connection)
            release.start()
            connection.execute(sa.update(Category).where(Category.id == category_id)
                               .values(name="Written after the wait"))
            connection.commit()
        release.join()
        holder.close()

        tries = [s for s in seen if s == "BEGIN IMMEDIATE"]
        assert len(tries) >= 3  # it polled; SQLite's own handler would show none of these
        assert seen.index("PRAGMA busy_timeout = 0") < seen.index("BEGIN IMMEDIATE")
        assert seen[-2:] == [next(s for s in seen if s.startswith("UPDATE")), "COMMIT"]
        assert "PRAGMA busy_timeout = 5000" in seen  # its own timeout back for what follows
        # Between tries it sleeps a twentieth of a millisecond, then never more than a tenth:
        # woken that soon after the holder's commit (SQLite's handler sleeps 1, 2, 5, 10 ms...).
        assert waits[0] == 0.00005
        assert max(waits) == 0.0001
        db.session.expire_all()
        assert db.session.get(Category, category_id).name == "Written after the wait"


def test_the_write_and_what_follows_are_one_transaction(app):
    with app.app_context():
        with db.engine.connect() as connection:
            seen = _statements(connection)
            connection.execute(sa.insert(Category).values(slug="one", name="One"))
            connection.execute(sa.insert(Category).values(slug="two", name="Two"))
            connection.rollback()
        assert seen.count("BEGIN IMMEDIATE") == 1  # one lock for the transaction
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)
                                 .where(Category.slug.in_(["one", "two"]))) == 0


def test_a_read_takes_no_lock(app):
    with app.app_context():
        holder = _holder(app)
        try:
            with db.engine.connect() as connection:
                seen = _statements(connection)
                count = connection.scalar(sa.select(sa.func.count()).select_from(Category))
        finally:
            holder.rollback()
            holder.close()
        assert count is not None
        assert not any("BEGIN" in s for s in seen)


def test_an_autocommitting_connection_writes_on_its_own(app):
    # The mail sender's connection: each statement is its own transaction, no BEGIN.
    with app.app_context():
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            seen = _statements(connection)
            connection.execute(sa.insert(Category).values(slug="auto", name="Auto"))
        assert not any("BEGIN" in s for s in seen)
        assert db.session.scalar(sa.select(Category.name).where(Category.slug == "auto")) \
            == "Auto"


@pytest.mark.parametrize("app_config", [{
    "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 0.2}}}])
def test_past_the_busy_timeout_the_write_fails_as_before(app):
    with app.app_context():
        holder = _holder(app)
        try:
            with db.engine.connect() as connection:
                with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                    connection.execute(sa.insert(Category).values(slug="late", name="Late"))
        finally:
            holder.rollback()
            holder.close()


@pytest.mark.parametrize("app_config", [{"SQLITE_POLL_WRITE_LOCK": False}])
def test_turned_off_the_driver_begins_and_sqlite_waits(app):
    with app.app_context():
        with db.engine.connect() as connection:
            seen = _statements(connection)
            connection.execute(sa.insert(Category).values(slug="plain", name="Plain"))
            connection.rollback()
        assert "BEGIN IMMEDIATE" not in seen
        assert seen[0].startswith("BEGIN")
