"""PostgreSQL connections are tuned so the planner uses the trigram index for searches.

With the default random_page_cost of 4 the planner scanned all 100,340 books of the large data
set for `/search?q=dragon` (400 ms) instead of the GIN trigram index (18 ms); bench/README.md
has both EXPLAIN ANALYZE plans. A test table is too small for the planner to prefer the index
either way, so this checks the setting every connection gets.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db


def test_every_connection_prices_random_reads_as_on_an_ssd(pg_app):
    with pg_app.app_context():
        assert db.session.scalar(sa.text("SHOW random_page_cost")) == "1.1"
        db.session.rollback()
        with db.engine.connect() as another:
            assert another.scalar(sa.text("SHOW random_page_cost")) == "1.1"


def test_the_setting_can_be_left_to_the_server(pg_schema):
    from app import create_app
    from config import TestConfig

    app = create_app(type("_C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": pg_schema,
                                                "PG_RANDOM_PAGE_COST": ""}))
    with app.app_context():
        assert db.session.scalar(sa.text("SHOW random_page_cost")) == "4"
        db.session.remove()
        db.engine.dispose()
