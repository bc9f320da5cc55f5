"""The front door's reader lookup runs on a connection kept out of the pool between requests
(app/serving/db_session.KeptReads): no checkout, begin, end or reset per member's page. Kept
connections hold no transaction while idle, are given up when they fail, sat idle too long,
belong to a parent process or outlive their engine, and a lookup on one that the database
dropped costs one request through Flask, never an error page."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.serving.db_session import _INHERITED, KeptReads
from tests.factories import make_book, make_category, make_member
from tests.helpers import terminate_backend
from tests.serving.test_front_door import member_reads_twice, paths_reaching_flask

KEPT = "bookstation.kept_reads"
# Every page from the front door looks its reader up (none is kept by the door): these tests
# are about the lookup's connection.
NO_KEEPING = {"READER_KEEP_SECONDS": 0}


@pytest.fixture
def app_config():
    return dict(NO_KEEPING)  # a test may update it


@pytest.fixture
def reached(app):
    """The paths of the requests that reached Flask."""
    yield from paths_reaching_flask(app)


@pytest.fixture
def reached_pg(pg_app):
    yield from paths_reaching_flask(pg_app)


def checkouts(app) -> list[object]:
    """Every connection the pool hands out from now on."""
    handed: list[object] = []
    with app.app_context():
        sa.event.listen(db.engine, "checkout", lambda dbapi, record, proxy: handed.append(dbapi))
    return handed


def test_a_members_pages_from_the_front_door_take_nothing_from_the_pool(app, shelf, reached):
    path = f"/book/{shelf['book']}"
    member, _first, _second = member_reads_twice(app, path, reached)
    handed = checkouts(app)

    for _ in range(5):
        assert member.get(path).headers["X-Cache"] == "hit"

    assert reached == [path]  # five more pages, none through Flask
    assert handed == []  # and not one pooled connection: the lookup's own is kept
    assert len(app.extensions[KEPT].idle) == 1


def test_a_kept_connection_is_used_by_one_lookup_at_a_time(app):
    with app.app_context():
        kept = KeptReads(db.engine, keep=1, idle_limit=60)
        with kept.connection() as first, kept.connection() as second:
            assert first is not second  # the second lookup did not share the first's
        with kept.connection() as again:
            assert again in (first, second)  # one was kept (keep=1), the other closed
        assert sum(c.closed for c in (first, second)) == 1


@pytest.mark.parametrize("limits", [{"idle_limit": 0.05}, {"idle_limit": 60, "recycle": 0.05}])
def test_a_kept_connection_idle_or_open_too_long_is_closed_for_good_rather_than_used(app,
                                                                                     limits):
    """Closed, not given back to the pool: there it would look freshly used, and the pool's
    test of a connection that sat idle would not catch one the database dropped."""
    with app.app_context():
        kept = KeptReads(db.engine, keep=4, **limits)
        with kept.connection() as first:
            first.execute(sa.text("SELECT 1"))
            driver = first.connection.dbapi_connection
        time.sleep(0.06)
        with kept.connection() as second:
            assert second.execute(sa.text("SELECT 1")).scalar() == 1
        pooled = [db.engine.connect() for _ in range(3)]
        handed = [c.connection.dbapi_connection for c in pooled]
        for c in pooled:
            c.close()

    assert second is not first and first.closed
    assert driver not in handed and second.connection.dbapi_connection is not driver


def test_an_in_memory_database_shares_no_kept_connection(app):
    """`sqlite://` has one connection for everyone (StaticPool): setting it to autocommit
    would end every session's transactions. The lookup takes it from the pool as it is."""
    from app import create_app
    from tests.conftest import _make_config

    memory = create_app(_make_config("sqlite://"))

    assert KEPT not in memory.extensions
    with memory.app_context():
        db.engine.dispose()


def test_a_statement_that_fails_closes_its_connection(app):
    with app.app_context():
        kept = KeptReads(db.engine, keep=4, idle_limit=60)
        with pytest.raises(sa.exc.OperationalError):
            with kept.connection() as failing:
                failing.execute(sa.text("SELECT * FROM no_such_table"))
        with kept.connection() as next_one:
            assert next_one.execute(sa.text("SELECT 1")).scalar() == 1

    assert failing.closed and next_one is not failing


def test_a_child_process_never_uses_its_parents_kept_connections(app):
    """After a fork the list of idle connections is the parent's: the child leaves them
    alone (using or closing one would act on the parent's socket) and opens its own."""
    with app.app_context():
        kept = KeptReads(db.engine, keep=4, idle_limit=60)
        with kept.connection() as parents:
            pass
        _pid, used, opened, connection = kept.idle.pop()
        kept.idle.append((os.getpid() + 1, used, opened, connection))  # a forked child's view

        with kept.connection() as childs:
            pass

        assert childs is not parents
        assert not parents.closed and parents in _INHERITED  # untouched, never collected
        assert [entry[-1] for entry in kept.idle] == [childs]
    _INHERITED.remove(parents)
    parents.close()


def test_disposing_of_the_engine_closes_the_kept_connections(app, shelf, reached):
    member, _first, _second = member_reads_twice(app, "/", reached)
    [(_pid, _used, _opened, connection)] = app.extensions[KEPT].idle

    with app.app_context():
        db.engine.dispose()

    assert connection.closed
    assert app.extensions[KEPT].idle == []
    assert member.get("/").headers["X-Cache"] == "hit"  # the next lookup opens another


def _shelf_on(app) -> None:
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        make_book(title="Cached tale", category=fiction, stock_on_hand=5)
        make_member(email="reader@example.test")
        db.session.commit()


def _backend_states(app) -> dict[int, str]:
    with app.app_context():
        other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        with other.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).all()
        other.dispose()
    return dict(rows)


def test_a_kept_connection_holds_no_transaction_between_requests_on_postgresql(pg_app, reached_pg):
    _shelf_on(pg_app)
    member, _first, _second = member_reads_twice(pg_app, "/", reached_pg)
    member.get("/")
    [(_pid, _used, _opened, connection)] = pg_app.extensions[KEPT].idle
    backend = connection.connection.driver_connection.info.backend_pid

    assert _backend_states(pg_app)[backend] == "idle"  # not "idle in transaction"


@pytest.mark.parametrize("app_config", [{"DB_PING_IDLE_SECONDS": 0.2, **NO_KEEPING}])
def test_a_kept_connection_dropped_while_idle_never_reaches_a_request(pg_app, reached_pg):
    """The database drops the kept connection while the shop is idle (a restart): the next
    lookup closes it for good, and no later request, through the door or Flask, gets it."""
    _shelf_on(pg_app)
    member, _first, _second = member_reads_twice(pg_app, "/", reached_pg)
    assert member.get("/cart").status_code == 200  # a second connection, now in the pool
    [(_pid, _used, _opened, connection)] = pg_app.extensions[KEPT].idle
    terminate_backend(pg_app, connection.connection.driver_connection.info.backend_pid)
    time.sleep(0.3)  # both idle: the pooled one will be tested, the kept one given up

    pages = [member.get(path) for path in ("/", "/cart", "/cart", "/category/fiction", "/")]

    assert [page.status_code for page in pages] == [200] * 5
    assert connection.closed


def test_a_kept_connection_the_database_dropped_costs_one_request_through_flask(pg_app, reached_pg):
    _shelf_on(pg_app)
    reached = reached_pg
    member, _first, _second = member_reads_twice(pg_app, "/", reached)
    [(_pid, _used, _opened, connection)] = pg_app.extensions[KEPT].idle
    backend = connection.connection.driver_connection.info.backend_pid
    terminate_backend(pg_app, backend)  # what a restart or an idle timeout does to it
    reached.clear()

    dropped = member.get("/")
    again = member.get("/")

    assert dropped.status_code == 200 and "Log out" in dropped.get_data(True)
    assert reached == ["/"]  # Flask answered the request whose lookup failed
    assert again.headers["X-Cache"] == "hit"  # the next lookup has a new connection
    assert connection.closed


@pytest.mark.parametrize("app_config", [{"KEPT_READ_CONNECTIONS": 0, **NO_KEEPING}])
def test_with_none_kept_each_lookup_takes_a_pooled_connection_and_gives_it_back(app, shelf,
                                                                                reached):
    member, _first, _second = member_reads_twice(app, "/", reached)
    handed = checkouts(app)

    assert member.get("/").headers["X-Cache"] == "hit"

    assert len(handed) == 1 and app.extensions[KEPT].idle == []
