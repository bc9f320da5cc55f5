"""A request that only read ends its transaction with COMMIT, so psycopg keeps the statements
it prepared; anything that wrote still rolls back unless the view committed
(app/observability.end_reads_with_commit)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Category
from app.services import holds
from tests.factories import make_category


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
    """holds.bulk_insert uses COPY on PostgreSQL, which passes no engine event."""
    @pg_app.get("/_test/copy")
    def copy():
        holds.bulk_insert(Category.__table__, [
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
