"""Bench: latency of the stock-arrival mail in the embedded default (`flask dev`).

    .venv/bin/python bench/demand_latency.py [--rounds 5] [--readers 1] [--database-url URL]

Starts the real `flask dev` (shop + local mail catcher + the mail sender thread) in a child
process on a throw-away database (SQLite file unless --database-url), gives a book waiting
members, then, in this process, records a stock receipt and commits it, and times how long
until the first notification is accepted by the local catcher (its message file appears in
MAIL_CATCHER_DIR). Target: under 5 s. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"flask dev did not answer on {url}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="receipts to time, one by one")
    parser.add_argument("--readers", type=int, default=1, help="waiting members per book")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    mailbox = tmp / "mailbox"
    url = args.database_url or f"sqlite:///{tmp / 'latency.db'}"
    http_port, mail_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": url, "MAIL_PORT": str(mail_port),
           "MAIL_SERVER": "127.0.0.1", "MAIL_CATCHER_DIR": str(mailbox),
           "BOOKSTATION_ENV": "development", "REDIS_URL": ""}
    os.environ.update(env)

    from app import create_app
    from app.catalog import search_index
    from app.core.extensions import db
    from app.demand.stock import receive_stock
    from app.models import Book, Demand, DemandStatus, Member

    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                search_index.install(conn)
        books = []
        for round_no in range(args.rounds):
            book = Book(title=f"Latency {round_no}", authors="Bench", price=Decimal("9.00"),
                        stock_on_hand=0, search_text=f"latency {round_no}")
            db.session.add(book)
            db.session.flush()
            books.append(book.id)
            for n in range(args.readers):
                member = Member(email=f"r{round_no}-{n}@example.test", name=f"Reader {n}",
                                password_hash="x", auth_token=f"t{round_no}-{n}",
                                member_no=f"M2026-{round_no:03d}{n:04d}")
                db.session.add(member)
                db.session.flush()
                db.session.add(Demand(member_id=member.id, book_id=book.id, quantity=1,
                                      status=DemandStatus.OPEN,
                                      open_key=f"{member.id}:{book.id}"))
        db.session.commit()

    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/flask"), "--app", "run", "dev", "--port", str(http_port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{http_port}/healthz")
        time.sleep(1.5)  # let the sender settle into its idle poll
        latencies, all_in = [], []
        for book_id in books:
            before = set(mailbox.glob("*.eml")) if mailbox.exists() else set()
            with app.app_context():
                receive_stock(book_id, args.readers)
                db.session.commit()
                committed = time.monotonic()
                db.session.remove()
            while True:
                arrived = set(mailbox.glob("*.eml")) - before if mailbox.exists() else set()
                if arrived:
                    latencies.append(time.monotonic() - committed)
                    break
                if time.monotonic() - committed > 30:
                    raise SystemExit("no mail after 30 s")
                time.sleep(0.005)
            while len(set(mailbox.glob("*.eml")) - before) < args.readers:
                if time.monotonic() - committed > 600:
                    raise SystemExit("not every mail arrived within 600 s")
                time.sleep(0.2)
            all_in.append(time.monotonic() - committed)
            time.sleep(0.7)  # the next receipt lands at another point of the poll cycle
        with app.app_context():
            dialect = db.engine.dialect.name
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"database: {dialect}; flask dev (catcher + sender thread), {args.readers} waiting "
          f"member(s) per book, {len(latencies)} receipts")
    print("first notification accepted by the local catcher after the receipt's commit: "
          + ", ".join(f"{x:.2f}" for x in latencies) + " s")
    print(f"  median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
          f"(target < 5 s); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if args.readers > 1:
        print("  all of a receipt's mails in the catcher after: "
              + ", ".join(f"{x:.1f}" for x in all_in) + " s (one sender thread, "
              f"= {args.readers / statistics.median(all_in):.0f} messages/s to the catcher)")
    if args.database_url:
        with app.app_context():
            db.session.remove()
            db.drop_all()


if __name__ == "__main__":
    main()
