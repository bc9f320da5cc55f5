"""`flask dev` (what `make run` serves) answers on its port and delivers queued mail into the
local mail catcher by itself, within seconds."""

from __future__ import annotations

import email
import http.cookiejar
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from app.core.extensions import db
from app.models import OutboxMail
from tests.conftest import _make_config, free_port
from tests.pages import token_in

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def dev_env(request) -> dict:
    """Extra environment for the dev server (a test may parametrize it indirectly)."""
    return getattr(request, "param", {})


@pytest.fixture
def dev_server(tmp_path, dev_env):
    db_url = f"sqlite:///{tmp_path / 'dev.db'}"
    app = create_app(_make_config(db_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    port, mail_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "MAIL_PORT": str(mail_port),
           "MAIL_CATCHER_DIR": str(tmp_path / "mailbox"), "BOOKSTATION_ENV": "development"}
    log_path = tmp_path / "dev-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "run", "dev", "--port", str(port)],
            cwd=ROOT, env={**{k: v for k, v in env.items() if k != "SHOP_BASE_URL"}, **dev_env},
            stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # A cold start (a fresh clone compiles every module) on a busy machine can be slow;
        # a server that exits is reported at once, with what it printed.
        started = _wait_for(lambda: process.poll() is not None or _answers(base + "/"),
                            timeout=90)
        if not started or process.poll() is not None:
            pytest.fail(f"the dev server did not start (exit code {process.poll()}):\n"
                        + log_path.read_text(errors="replace")[-4000:])
        yield base, app, tmp_path / "mailbox"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_dev_server_serves_the_shop_and_delivers_mail_to_the_catcher(dev_server):
    base, app, mailbox = dev_server

    with app.app_context():
        db.session.add(OutboxMail(kind="test", to_email="reader@example.test", subject="Hi",
                                  body_text="Hello", message_id="<dev-test@bookstation.mail>"))
        db.session.commit()
        db.engine.dispose()
    queued_at = time.monotonic()

    assert _wait_for(lambda: any(mailbox.glob("*.eml")), timeout=5)
    latency = time.monotonic() - queued_at
    [eml] = list(mailbox.glob("*.eml"))
    assert b"reader@example.test" in eml.read_bytes()
    assert latency < 5


def _reset_mail_text(base: str, app, mailbox) -> str:
    """Ask the running dev server for a password reset; the plain text of the mail it sends."""
    with app.app_context():
        from app.membership.members import create_member

        create_member("forgetful@example.test", "a long enough password", "Forgetful")
        db.session.commit()
        db.engine.dispose()

    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(base + "/account/forgot", timeout=5) as response:
        page = response.read().decode()
    token = token_in(page)
    form = urllib.parse.urlencode({"csrf_token": token, "email": "forgetful@example.test"})
    with browser.open(base + "/account/forgot", data=form.encode(), timeout=5) as response:
        assert response.status == 200

    assert _wait_for(lambda: any(mailbox.glob("*.eml")), timeout=10), "no mail arrived"
    [eml] = list(mailbox.glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes())
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return text.get_payload(decode=True).decode()


def test_links_in_mail_point_at_the_port_the_dev_server_serves_on(dev_server):
    """`make run PORT=5001`: with no SHOP_BASE_URL in the environment, a mail queued by the
    dev server links to that server, not to the default port 5000."""
    base, app, mailbox = dev_server

    body = _reset_mail_text(base, app, mailbox)

    assert f"{base}/account/reset/" in body
    assert "127.0.0.1:5000" not in body


@pytest.mark.parametrize("dev_env", [{"SHOP_BASE_URL": "https://shop.example.test"}],
                         indirect=True)
def test_an_explicit_shop_base_url_wins_over_the_dev_servers_address(dev_server):
    base, app, mailbox = dev_server

    body = _reset_mail_text(base, app, mailbox)

    assert "https://shop.example.test/account/reset/" in body and base not in body


def test_a_wildcard_host_is_linked_over_the_loopback():
    from app.dev import served_url

    assert served_url("0.0.0.0", 5001) == "http://127.0.0.1:5001"
    assert served_url("::", 5001) == "http://[::1]:5001"
    assert served_url("shop.local", 8000) == "http://shop.local:8000"
