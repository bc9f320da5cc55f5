"""Browser fixtures: the app served on 127.0.0.1 in a thread, and Debian's headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app import create_app
from app.core.extensions import db
from app.models import OutboxMail
from tests.conftest import _make_config, free_port

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_app(tmp_path, sqlite_template, app_config):
    db_path = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, db_path)
    return create_app(_make_config(f"sqlite:///{db_path}", **app_config))


@pytest.fixture
def live_server(live_app) -> Iterator[str]:
    """Serve `live_app` with a real HTTP server on a free loopback port."""
    port = free_port()
    server = make_server("127.0.0.1", port, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with live_app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} not installed (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def follow_join_link(page, live_app, email: str, password: str) -> None:
    """Open the link mailed to `email` at registration, type the password chosen on the join
    form and press its button (issue 17: the account exists, and the new member is logged in,
    only then)."""
    with live_app.app_context():
        body = db.session.scalar(sa.select(OutboxMail.body_text).where(
            OutboxMail.to_email == email, OutboxMail.kind == "confirm_email"))
    page.goto(re.search(r"https?://[^/\s]+(/account/confirm/\S+)", body).group(1))
    page.locator("input[name=password]").fill(password)
    page.get_by_test_id("confirm-join").click()
