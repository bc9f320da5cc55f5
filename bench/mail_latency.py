"""Bench: how soon the first stock-arrival mail is handed to SMTP after a receipt (issue 17).

    .venv/bin/python bench/mail_latency.py [--receipts 20] [--database-url URL]
                                           [--mode http|process] [--root CHECKOUT]

Starts the real `flask dev` (shop + mail sender thread) of CHECKOUT (default: this one; give
an older checkout to measure "before" in the same sitting) on a throw-away database, with
this process's aiosmtpd server as its SMTP server, which notes when each message arrives.
Then records one stock receipt per book (one waiting reader each), pausing 0.3-1.3 s between
them so they land at every point of a poll cycle:

- `--mode http` (default): as staff do, `POST /admin/stock/receipts` to `flask dev`, so the
  commit happens in the sender's own process (the embedded default);
- `--mode process`: `receive_stock` + commit in this process (another process, as a second
  app server would be): only PostgreSQL's NOTIFY can wake the sender then.

Latency = the message's arrival at the SMTP server minus the end of the receipt (its HTTP
response, or its commit). Target (issue 17): median under 0.3 s over 20 receipts. Not a
test: figures only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password 1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Arrivals:
    """aiosmtpd handler: the monotonic time each recipient's message arrived."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        with self.changed:
            for rcpt in envelope.rcpt_tos:
                self.at.setdefault(rcpt, now)
            self.changed.notify_all()
        return "250 OK"

    def wait_for(self, rcpt: str, timeout: float) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: rcpt in self.at, timeout):
                raise SystemExit(f"no mail for {rcpt} within {timeout} s")
            return self.at[rcpt]


class Browser:
    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
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
                self.cookies[name] = morsel.value
        return response.status, text

    def csrf(self, path: str) -> str:
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def wait_for_http(port: int, server: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("flask dev exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit("flask dev did not answer")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--mode", choices=["http", "process"], default="http")
    parser.add_argument("--root", default=str(ROOT), help="checkout whose `flask dev` runs")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-mail-latency-"))
    url = args.database_url or f"sqlite:///{tmp / 'latency.db'}"
    http_port, smtp_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": url, "MAIL_PORT": str(smtp_port),
           "MAIL_SERVER": "127.0.0.1", "MAIL_CATCHER_DIR": str(tmp / "mailbox"),
           "BOOKSTATION_ENV": "development", "REDIS_URL": "", "SECRET_KEY": "bench-secret",
           "SHOP_BASE_URL": f"http://127.0.0.1:{http_port}", "LOG_LEVEL": "warning"}
    os.environ.update(env)

    from aiosmtpd.controller import Controller

    from app import create_app
    from app.catalog import search_index
    from app.core.extensions import db
    from app.demand.stock import receive_stock
    from app.membership.members import create_member
    from app.models import Book, Demand, DemandStatus, Member, Role

    app = create_app()
    readers: list[tuple[int, str]] = []
    with app.app_context():
        db.drop_all()
        db.create_all()
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                search_index.install(conn)
        create_member("bench-admin@bookstation.test", PASSWORD, "Bench Admin", role=Role.ADMIN)
        for n in range(args.receipts):
            book = Book(title=f"Latency {n}", authors="Bench", price=Decimal("9.00"),
                        stock_on_hand=0, search_text=f"latency {n}")
            db.session.add(book)
            db.session.flush()
            member = Member(email=f"reader{n}@example.test", name=f"Reader {n}",
                            password_hash="x", auth_token=f"t{n}", member_no=f"M2026-9{n:05d}")
            db.session.add(member)
            db.session.flush()
            db.session.add(Demand(member_id=member.id, book_id=book.id, quantity=1,
                                  status=DemandStatus.OPEN, open_key=f"{member.id}:{book.id}"))
            readers.append((book.id, member.email))
        db.session.commit()
        dialect = db.engine.dialect.name
        db.session.remove()

    arrivals = Arrivals()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    root = Path(args.root)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/flask"), "--app", "run", "dev", "--port", str(http_port)],
        cwd=root, env={**env, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies, requests = [], []
    try:
        wait_for_http(http_port, server)
        browser = Browser(http_port)
        token = browser.csrf("/account/login")
        status, _ = browser.request("POST", "/account/login", {
            "csrf_token": token, "email": "bench-admin@bookstation.test",
            "password": PASSWORD})
        assert status == 302, status
        token = browser.csrf("/admin/stock/receipts")
        time.sleep(2.0)  # let the sender settle into its idle wait
        rng = random.Random(17)
        for book_id, email in readers:
            started = time.monotonic()
            if args.mode == "http":
                status, _ = browser.request("POST", "/admin/stock/receipts", {
                    "csrf_token": token, "book": str(book_id), "quantity": "1"})
                assert status == 302, status
            else:
                with app.app_context():
                    receive_stock(book_id, 1)
                    db.session.commit()
                    db.session.remove()
            done = time.monotonic()
            arrived = arrivals.wait_for(email, 30)
            latencies.append(arrived - done)
            requests.append(done - started)
            time.sleep(0.3 + rng.random())
    finally:
        server.terminate()
        server.wait(timeout=15)
        smtp.stop()
        if args.database_url:
            with app.app_context():
                db.drop_all()
                db.engine.dispose()
    print(f"database: {dialect}; flask dev of {root}; receipts via {args.mode}; "
          f"{len(latencies)} receipts, one waiting reader each")
    print("  first mail at the SMTP server after the receipt (s): "
          + ", ".join(f"{x:.3f}" for x in latencies))
    print(f"  median {statistics.median(latencies):.3f} s, "
          f"p90 {sorted(latencies)[int(0.9 * len(latencies)) - 1]:.3f} s, "
          f"max {max(latencies):.3f} s (target: median < 0.3 s); the receipt itself took "
          f"{statistics.median(requests):.3f} s (median); load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
