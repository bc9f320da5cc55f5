"""Transactions on PostgreSQL (app.serving.db_session.watch_transactions): a transaction sends
BEGIN only before its first write, so a page that only reads opens none; from that write on it
is one transaction, locks included. A request that only read keeps the statements psycopg
prepared; anything that wrote still rolls back unless the view committed."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus

from app.core import bulk
from app.core.extensions import db
from app.models import Category, Member
from tests.factories import make_category, make_member


def _prepared_on_the_pooled_connection(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements"))
        db.session.rollback()
    return count


def _read_six_times(app) -> None:
    client = app.test_client()
    for _ in range(6):  # psycopg prepares a statement at its 5th run on one connection
        assert client.get("/healthz").status_code == 200


def test_reads_keep_the_statements_psycopg_prepared(pg_app):
    _read_six_times(pg_app)

    assert _prepared_on_the_pooled_connection(pg_app) >= 1


@pytest.mark.parametrize("app_config", [{"PG_COMMIT_READS": False}])
def test_reads_outside_a_transaction_keep_them_even_without_the_commit(pg_app):
    _read_six_times(pg_app)

    assert _prepared_on_the_pooled_connection(pg_app) >= 1


@pytest.mark.parametrize("app_config", [{"PG_COMMIT_READS": False, "PG_LAZY_BEGIN": False}])
def test_with_rollback_at_the_end_of_each_request_nothing_stays_prepared(pg_app):
    _read_six_times(pg_app)

    assert _prepared_on_the_pooled_connection(pg_app) == 0


@pytest.fixture
def category_id(pg_app) -> int:
    with pg_app.app_context():
        category = make_category(name="Poetry")
        db.session.commit()
        return category.id


def _name_of(app, category_id: int) -> str:
    with app.app_context():
        return db.session.get(Category, category_id).name


def test_a_request_that_wrote_without_committing_is_still_rolled_back(pg_app, category_id):
    @pg_app.get("/_test/core-write")
    def core_write():
        db.session.execute(sa.update(Category).where(Category.id == category_id)
                           .values(name="Core write"))
        return "wrote"

    @pg_app.get("/_test/flushed-write")
    def flushed_write():
        db.session.get(Category, category_id).name = "Flushed write"
        db.session.flush()
        return "wrote"

    @pg_app.get("/_test/pending-change")
    def pending_change():
        db.session.get(Category, category_id).name = "Pending change"
        return "changed"

    client = pg_app.test_client()
    for path in ("/_test/core-write", "/_test/flushed-write", "/_test/pending-change"):
        assert client.get(path).status_code == 200
        assert _name_of(pg_app, category_id) == "Poetry", path


def test_rows_copied_in_through_the_driver_count_as_a_write(pg_app, category_id):
    """bulk.bulk_insert uses COPY on PostgreSQL, which passes no engine event."""
    @pg_app.get("/_test/copy")
    def copy():
        bulk.bulk_insert(Category.__table__, [
            {"slug": "copied", "name": "Copied", "position": 9, "description": ""}])
        return "copied"

    assert pg_app.test_client().get("/_test/copy").status_code == 200
    with pg_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)) == 1


def test_a_request_that_raised_is_rolled_back(pg_app, category_id):
    pg_app.config["PROPAGATE_EXCEPTIONS"] = False

    @pg_app.get("/_test/fails")
    def fails():
        db.session.get(Category, category_id).name = "Half done"
        db.session.flush()
        raise RuntimeError("the view failed")

    assert pg_app.test_client().get("/_test/fails").status_code == 500
    assert _name_of(pg_app, category_id) == "Poetry"


# ---------------------------------------------------------------- BEGIN on the first write


def _server_transaction() -> TransactionStatus:
    """What the server last told the driver: IDLE (no transaction open) or INTRANS."""
    return db.session.connection().connection.driver_connection.info.transaction_status


def test_a_page_that_only_reads_opens_no_transaction(pg_app, category_id):
    seen = []

    @pg_app.get("/_test/reads")
    def reads():
        db.session.get(Category, category_id)
        db.session.scalar(sa.select(sa.func.count()).select_from(Member))
        seen.append(_server_transaction())
        return "read"

    assert pg_app.test_client().get("/_test/reads").status_code == 200
    assert seen == [TransactionStatus.IDLE]


def test_from_the_first_write_on_it_is_one_transaction(pg_app, category_id):
    seen = []

    @pg_app.get("/_test/read-then-write")
    def read_then_write():
        db.session.get(Category, category_id).name = "Renamed"
        db.session.flush()
        seen.append(_server_transaction())
        db.session.add(Category(slug="second", name="Second", position=2, description=""))
        db.session.flush()
        db.session.rollback()
        return "undone"

    assert pg_app.test_client().get("/_test/read-then-write").status_code == 200
    assert seen == [TransactionStatus.INTRANS]
    with pg_app.app_context():
        assert db.session.scalars(sa.select(Category.name)).all() == ["Poetry"]


def _lock_from_elsewhere(pg_url_of_app: str, category_id: int) -> bool:
    """True when another connection can take the row's lock at once."""
    with psycopg.connect(pg_url_of_app) as other:
        try:
            other.execute("SELECT id FROM category WHERE id = %s FOR UPDATE NOWAIT",
                          (category_id,))
        except psycopg.errors.LockNotAvailable:
            return False
        return True


def test_select_for_update_keeps_its_lock_until_the_transaction_ends(pg_app, category_id):
    with pg_app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        db.session.execute(sa.select(Category).where(Category.id == category_id)
                           .with_for_update()).one()

        assert _server_transaction() == TransactionStatus.INTRANS
        assert _lock_from_elsewhere(url, category_id) is False
        db.session.commit()
        assert _lock_from_elsewhere(url, category_id) is True


def test_a_server_side_cursor_gets_its_transaction(pg_app):
    with pg_app.app_context():
        for n in range(5):
            make_member(email=f"stream-{n}@example.com")
        db.session.commit()

        streamed = db.session.execute(
            sa.select(Member.email).order_by(Member.id).execution_options(yield_per=2)).all()

        assert [email for (email,) in streamed] == [f"stream-{n}@example.com" for n in range(5)]


def test_rows_copied_through_the_driver_go_into_the_transaction(pg_app, category_id):
    with pg_app.app_context():
        db.session.get(Category, category_id)  # a read first: no transaction yet
        bulk.bulk_insert(Category.__table__, [
            {"slug": "copied", "name": "Copied", "position": 9, "description": ""}])
        assert _server_transaction() == TransactionStatus.INTRANS
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Category)) == 1


def test_an_autocommit_connection_is_left_in_autocommit(pg_app, category_id):
    """The mail senders record each delivery at once, on an AUTOCOMMIT connection."""
    with pg_app.app_context():
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(sa.update(Category).where(Category.id == category_id)
                         .values(name="Seen at once"))
            assert _name_of(pg_app, category_id) == "Seen at once"
            conn.rollback()  # nothing to undo: the update committed by itself
        assert _name_of(pg_app, category_id) == "Seen at once"


def test_connections_go_back_to_the_pool_as_the_driver_made_them(pg_app):
    _read_six_times(pg_app)
    with pg_app.app_context():
        raw = db.engine.raw_connection()
        try:
            assert raw.driver_connection.autocommit is False
        finally:
            raw.close()


@pytest.mark.parametrize("app_config", [{"PG_LAZY_BEGIN": False}])
def test_turned_off_every_transaction_begins_at_its_first_statement(pg_app, category_id):
    with pg_app.app_context():
        db.session.get(Category, category_id)

        assert _server_transaction() == TransactionStatus.INTRANS


def test_a_connection_someone_left_in_autocommit_still_gets_its_transaction(
        pg_app, category_id):
    with pg_app.app_context():
        raw = db.engine.raw_connection()
        left = raw.driver_connection
        left.autocommit = True
        raw.close()  # back to the pool as a careless caller left it

        db.session.get(Category, category_id).name = "Undone"
        db.session.flush()
        assert db.session.connection().connection.driver_connection is left
        db.session.rollback()

    assert _name_of(pg_app, category_id) == "Poetry"
