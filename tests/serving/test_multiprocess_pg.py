"""Two app servers that share nothing but PostgreSQL and Redis serve one member seamlessly.

Each server is a real gunicorn (gunicorn.conf.py, production config) in its own process on its
own port, as two hosts behind a load balancer would be. The member's session is a signed cookie,
so any server can read it; the cart lives in PostgreSQL; the login rate limit counts in Redis.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from app import create_app
from app.core.extensions import db
from config import TestConfig
from tests.factories import make_book, make_member
from tests.helpers import empty_every_table, free_port
from tests.pages import token_in

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse 1"
# Keys of this module's servers in the shared Redis (rate limits, caches).
PREFIX = f"bookstation-test-{uuid.uuid4().hex[:8]}"


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")


class Browser:
    """One visitor: a cookie jar it sends to whichever server it talks to (no redirects)."""

    def __init__(self, client_ip: str) -> None:
        self.cookies: dict[str, str] = {}
        self.client_ip = client_ip  # what the (imagined) proxy in front puts in X-Forwarded-For

    def request(self, port: int, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        headers = {"X-Forwarded-For": self.client_ip}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8")
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["expires"] != "Thu, 01 Jan 1970 00:00:00 GMT":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return response.status, text

    def csrf(self, port: int, path: str) -> str:
        status, page = self.request(port, "GET", path)
        assert status == 200, (path, status)
        return token_in(page)


def _start(port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "run:app"],
        cwd=ROOT, env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _wait_healthy(process: subprocess.Popen, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode()[-3000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise AssertionError(f"the server on port {port} did not become healthy")


@pytest.fixture(scope="module")
def shop_data(pg_schema) -> Iterator[dict]:
    app = create_app(type("_C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": pg_schema}))
    with app.app_context():
        member = make_member(email="traveller@example.test", password=PASSWORD)
        book = make_book(title="The Shared Cart", stock_on_hand=10)
        db.session.commit()
        data = {"member_id": member.id, "book_id": book.id}
    yield data
    with app.app_context():
        empty_every_table()


@pytest.fixture(scope="module")
def servers(pg_schema, shop_data) -> Iterator[tuple[int, int]]:
    _redis_or_skip()
    prefix = PREFIX
    env = {
        **os.environ,
        "BOOKSTATION_ENV": "production",
        "SECRET_KEY": "one-secret-for-every-server",
        "DATABASE_URL": pg_schema,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "CACHE_KEY_PREFIX": prefix + ":",
        "LOGIN_RATE_LIMIT": "3 per minute",
        "SESSION_COOKIE_SECURE": "0",  # plain http on 127.0.0.1 in this test
        "TRUST_PROXY_HOPS": "1",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "warning",
    }
    env.pop("GUNICORN_CONTROL_SOCKET", None)
    ports = (free_port(), free_port())
    processes = [_start(port, env) for port in ports]
    try:
        deadline = time.monotonic() + 30
        for process, port in zip(processes, ports, strict=True):
            _wait_healthy(process, port, deadline)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stderr.close()


def _log_in(browser: Browser, port: int) -> int:
    token = browser.csrf(port, "/account/login")
    status, _ = browser.request(port, "POST", "/account/login",
                                {"csrf_token": token, "email": "traveller@example.test",
                                 "password": PASSWORD})
    return status


def test_a_member_logged_in_on_one_server_is_logged_in_on_the_other(servers):
    a, b = servers
    browser = Browser("198.51.100.1")

    assert _log_in(browser, a) == 302
    status, page = browser.request(b, "GET", "/account/")

    assert status == 200  # not a redirect to the login page
    assert "Log out" in page


def test_a_book_added_to_the_cart_on_one_server_is_in_the_cart_on_the_other(servers, shop_data):
    a, b = servers
    browser = Browser("198.51.100.2")
    assert _log_in(browser, b) == 302

    token = browser.csrf(a, f"/book/{shop_data['book_id']}")
    status, _ = browser.request(a, "POST", "/cart/add",
                                {"csrf_token": token, "book_id": shop_data["book_id"],
                                 "quantity": "2"})
    assert status == 302
    status, cart_page = browser.request(b, "GET", "/cart")

    assert status == 200
    assert "The Shared Cart" in cart_page
    assert 'data-testid="cart-count">2<' in cart_page


def test_the_login_rate_limit_counts_attempts_on_every_server_together(servers):
    a, b = servers
    browser = Browser("198.51.100.3")
    wrong = {"email": "traveller@example.test", "password": "not the password"}

    statuses = []
    for port in (a, b, a, b):
        token = browser.csrf(port, "/account/login")
        status, _ = browser.request(port, "POST", "/account/login", {**wrong, "csrf_token": token})
        statuses.append(status)

    # 3 per minute in all: the fourth attempt is refused, although each server saw only two.
    assert statuses[:3] == [400, 400, 400]  # the form again, with "wrong email or password"
    assert statuses[3] == 429


def test_both_servers_report_healthy_against_the_shared_database(servers):
    for port in servers:
        status, body = Browser("198.51.100.4").request(port, "GET", "/healthz")
        assert status == 200 and '"database":"ok"' in body


def test_a_visitors_page_from_one_servers_front_door_posts_to_the_other(servers, shop_data):
    a, b = servers
    browser = Browser("198.51.100.5")
    book_page = f"/book/{shop_data['book_id']}"
    Browser("198.51.100.6").request(b, "GET", book_page)  # someone else fills the page cache

    token = browser.csrf(b, book_page)  # answered by b's front door, with a new session
    status, _ = browser.request(a, "POST", "/cart/add",
                                {"csrf_token": token, "book_id": shop_data["book_id"],
                                 "quantity": "1"})

    assert status == 302
    status, cart_page = browser.request(b, "GET", "/cart")
    assert "The Shared Cart" in cart_page


def test_a_page_forgotten_by_one_server_is_rendered_afresh_by_the_others(servers, pg_schema):
    """The front door keeps only an index of URLs; the pages are in Redis, so when one server
    forgets a page (after a change in the admin), no server serves the old one."""
    from app.catalog.web.views import forget_home_shelves

    a, b = servers
    visitor = Browser("198.51.100.7")
    visitor.request(b, "GET", "/")
    visitor.request(b, "GET", "/")  # b's front door now answers "/"
    config = {"SQLALCHEMY_DATABASE_URI": pg_schema, "CACHE_TYPE": "RedisCache",
              "CACHE_REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": PREFIX + ":"}
    other = create_app(type("_Other", (TestConfig,), config))  # what server a would run
    with other.app_context():
        make_book(title="Fresh From Elsewhere", stock_on_hand=3)
        db.session.commit()
    assert "Fresh From Elsewhere" not in visitor.request(b, "GET", "/")[1]  # still cached

    with other.test_request_context("/"):
        forget_home_shelves()

    status, page = visitor.request(b, "GET", "/")
    assert status == 200
    assert "Fresh From Elsewhere" in page
    with other.app_context():
        db.engine.dispose()
