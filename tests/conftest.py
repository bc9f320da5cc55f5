"""Shared fixtures: a real SQLite per test, a real PostgreSQL when reachable, a real SMTP server.

The `app` fixture returns an app with *no* context pushed, so every test-client request gets its
own session, as in production: a view that forgets to commit fails its test (STYLE §4.13).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from hypothesis import HealthCheck, settings

from app import create_app
from app.catalog import search_index
from app.core.extensions import db
from config import TestConfig
from tests.factories import (
    DEFAULT_PASSWORD,
    make_book,
    make_category,
    make_demand,
    make_member,
    make_staff,
)
from tests.helpers import Inbox, empty_every_table, free_port, smtp_server
from tests.pages import log_in, post_login

# Property tests judge results, not speed: on a shared machine a slow example is no failure
# (Hypothesis's 200 ms deadline and its too-slow health check failed them under load).
settings.register_profile("bookstation", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("bookstation")

# --------------------------------------------------------------------------- SQLite


def build_schema() -> None:
    """The migrations are the schema (test_migrations proves they match the models).

    TEST_SCHEMA=models builds it from the models instead: for work in progress on a model
    before its migration is written. CI never sets it.
    """
    if os.environ.get("TEST_SCHEMA") == "models":
        db.create_all()
        with db.engine.begin() as conn:
            search_index.install(conn)
            search_index.install_members(conn)  # issue 4: the customer name index
    else:
        upgrade()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """One schema built once; each test gets a copy of the file (fast, fully isolated)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    class _Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"

    app = create_app(_Config)
    with app.app_context():
        build_schema()
        db.engine.dispose()
    return str(path)


def _make_config(uri: str, **overrides) -> type[TestConfig]:
    attrs = {"SQLALCHEMY_DATABASE_URI": uri, **overrides}
    return type("_TestConfig", (TestConfig,), attrs)


@pytest.fixture
def app_config() -> dict:
    """Per-test config overrides: a test may request this fixture and update it."""
    return {}


@pytest.fixture
def app(request, tmp_path, sqlite_template, app_config):
    db_path = tmp_path / "test.db"
    shutil.copyfile(sqlite_template, db_path)
    overrides = dict(app_config)
    if "smtp_inbox" in request.fixturenames:
        overrides["MAIL_PORT"] = request.getfixturevalue("smtp_inbox").port
    app = create_app(_make_config(f"sqlite:///{db_path}", **overrides))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for service-level tests that do not go through the client."""
    with app.app_context():
        yield app


# --------------------------------------------------------------------------- log in


class AuthActions:
    """Log in and out through the real forms (flaskr's helper)."""

    def __init__(self, client) -> None:
        self._client = client

    def login(self, email: str = "member@example.test", password: str = DEFAULT_PASSWORD):
        """POST the login form (no CSRF token) and return the response; nothing asserted."""
        return post_login(self._client, email, password)

    def logout(self):
        return self._client.post("/account/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    """Log in and out on the `client` fixture: `auth.login(email, password)`, `auth.logout()`."""
    return AuthActions(client)


STAFF_EMAIL = "clerk@example.test"


@pytest.fixture
def staff_id(app) -> int:
    """The id of a staff member (not an admin), Clara Clerk, clerk@example.test, with the
    factories' password; committed."""
    with app.app_context():
        staff = make_staff(email=STAFF_EMAIL, name="Clara Clerk")
        db.session.commit()
        return staff.id


@pytest.fixture
def staff(client, staff_id):
    """The `client` fixture logged in as the `staff_id` staff member through the login form
    (with its CSRF token when the app checks CSRF); the login is asserted to redirect (302)."""
    return log_in(client, STAFF_EMAIL)


# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1; the `app` fixture points Flask-Mail at it."""
    with smtp_server(Inbox(port=free_port())) as inbox:
        yield inbox


# --------------------------------------------------------------------------- PostgreSQL

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end.

    Skips (with the reason) when no server answers, so the SQLite suite still runs anywhere.
    """
    admin_url = sa.make_url(_pg_admin_url())
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {admin_url.render_as_string()}: {exc}"
        if os.environ.get("REQUIRE_PG"):
            pytest.fail(f"REQUIRE_PG is set but {reason}")
        pytest.skip(reason)
    name = f"bookstation_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schema(pg_url) -> str:
    class _Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = pg_url

    app = create_app(_Config)
    with app.app_context():
        build_schema()
        db.engine.dispose()
    return pg_url


@pytest.fixture
def pg_app(request, pg_schema, app_config):
    """An app on the session's PostgreSQL database; every table is emptied after the test."""
    overrides = dict(app_config)
    if "smtp_inbox" in request.fixturenames:
        overrides["MAIL_PORT"] = request.getfixturevalue("smtp_inbox").port
    app = create_app(_make_config(pg_schema, **overrides))
    yield app
    with app.app_context():
        empty_every_table()
        db.engine.dispose()  # its connections, the kept ones too, closed now, not when collected


def pytest_collection_modifyitems(items):
    """Kind markers, from what a test uses: `pg` for PostgreSQL, `mail` for the SMTP server
    (`browser` is set by tests/browser). Select with -m, e.g. `pytest -m "not pg"`."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "pg_url" in names:
            item.add_marker(pytest.mark.pg)
        if "smtp_inbox" in names:
            item.add_marker(pytest.mark.mail)


@pytest.fixture
def shelf(app) -> dict:
    """A shelf of three books in stock and one sold out that a member (Rosa Reader) asked for."""
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        books = [make_book(title=f"Cached tale {n}", category=fiction, stock_on_hand=5)
                 for n in range(3)]
        out = make_book(title="Sold out tale", category=fiction, stock_on_hand=0)
        member = make_member(email="reader@example.test", name="Rosa Reader")
        make_demand(member=member, book=out)
        db.session.commit()
        return {"book": books[0].id, "out": out.id}
