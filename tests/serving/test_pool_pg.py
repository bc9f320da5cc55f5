"""A pooled connection the database dropped while it sat idle (a restart, an idle timeout) is
tested and replaced before a request uses it (app/serving/db_session.ping_idle_connections)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from tests.helpers import terminate_backend


def _pooled_backend_pid(app) -> int:
    """Run a request's worth of work; the connection goes back to the pool. Its server pid."""
    with app.app_context():
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        db.session.commit()
    return pid


@pytest.mark.parametrize("app_config", [{"DB_PING_IDLE_SECONDS": 0}])
def test_an_idle_connection_the_database_dropped_is_replaced_before_use(pg_app):
    before = _pooled_backend_pid(pg_app)
    terminate_backend(pg_app, before)

    response = pg_app.test_client().get("/healthz")

    assert response.status_code == 200, response.get_json()
    assert _pooled_backend_pid(pg_app) != before


@pytest.mark.parametrize("app_config", [{"DB_PING_IDLE_SECONDS": 3600}])
def test_a_connection_used_a_moment_ago_is_not_tested_so_a_drop_shows_once(pg_app):
    """The other side of the trade: between busy requests nothing is tested, so a connection
    dropped in that moment fails one request, and the pool replaces it for the next."""
    terminate_backend(pg_app, _pooled_backend_pid(pg_app))

    first = pg_app.test_client().get("/healthz")
    second = pg_app.test_client().get("/healthz")

    assert first.status_code == 503
    assert second.status_code == 200
