"""Bench: a stock receipt for a book with 10,000 waiting members, and the sender's throughput.

    .venv/bin/python bench/demand_fanout.py [--readers 10000] [--database-url URL]

Prints (1) how long `receive_stock` + commit takes for one book with N waiting members (target
under 2 s), and (2) how many of the queued mails per second the outbox sender delivers to a
local aiosmtpd sink (target >= 200/s). Uses a throw-away SQLite file unless --database-url
points at a PostgreSQL database (its tables are created and dropped). Not a test: figures only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from app import create_app
from app.catalog import search_index  # noqa: E402
from app.core.db import utcnow  # noqa: E402
from app.core.extensions import db  # noqa: E402
from app.demand.stock import receive_stock  # noqa: E402
from app.mail.sender import deliver_due  # noqa: E402
from app.models import Book, Demand, DemandStatus, Member, OutboxMail  # noqa: E402
from config import TestConfig  # noqa: E402

SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


def start_sink(port: int) -> subprocess.Popen:
    """A local SMTP sink in its own process (as a real catcher would be)."""
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    return sink


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sender(app, batch: int, limit: int, sent: list[int], lock: threading.Lock) -> None:
    """One sender: deliver passes until `limit` messages went out in total or none are due."""
    with app.app_context():
        try:
            while True:
                with lock:
                    if sent[0] >= limit:
                        return
                report = deliver_due(batch)
                with lock:
                    sent[0] += len(report.sent)
                if not report.claimed:
                    return
        finally:
            db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--send", type=int, default=2000,
                        help="messages to deliver per sender measurement")
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 4],
                        help="sender thread counts to measure, one after another")
    parser.add_argument("--sqlite-wal", action="store_true",
                        help="SQLite in WAL mode with synchronous=NORMAL (no fsync per commit)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-demand-")
    url = args.database_url or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    port = free_port()
    config = type("BenchConfig", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": url, "MAIL_PORT": port, "MAIL_BATCH_SIZE": args.batch,
        "TESTING": False})
    app = create_app(config)
    with app.app_context():
        if args.sqlite_wal and db.engine.dialect.name == "sqlite":
            @sa.event.listens_for(db.engine, "connect")
            def _wal(dbapi_connection, record) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
            db.engine.dispose()
        db.drop_all()
        db.create_all()
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as conn:
                search_index.install(conn)
        book = Book(title="Dune", authors="Frank Herbert", price=Decimal("12.00"),
                    stock_on_hand=0, search_text="dune frank herbert")
        db.session.add(book)
        db.session.flush()
        now = utcnow()
        db.session.execute(sa.insert(Member), [
            {"email": f"reader{n}@example.test", "name": f"Reader {n}", "password_hash": "x",
             "auth_token": f"token-{n}", "member_no": f"M2026-{n:06d}", "joined_at": now}
            for n in range(args.readers)])
        member_ids = db.session.scalars(sa.select(Member.id).order_by(Member.id)).all()
        db.session.execute(sa.insert(Demand), [
            {"member_id": mid, "book_id": book.id, "quantity": 1, "status": DemandStatus.OPEN,
             "open_key": f"{mid}:{book.id}", "created_at": now} for mid in member_ids])
        db.session.commit()
        book_id = book.id

        started, cpu = time.perf_counter(), time.process_time()
        result = receive_stock(book_id, args.readers)
        queued = time.perf_counter()
        db.session.commit()
        committed, cpu = time.perf_counter(), time.process_time() - cpu
        print(f"database: {db.engine.dialect.name}"
              f"{' (WAL, synchronous=NORMAL)' if args.sqlite_wal else ''}")
        print(f"receipt for {args.readers} waiting members: {result.mails} mails queued, "
              f"{result.held} copies held")
        print(f"  receive_stock: {queued - started:.3f} s, commit: {committed - queued:.3f} s, "
              f"total {committed - started:.3f} s (target < 2 s); this process's CPU time "
              f"{cpu:.3f} s")
        print(f"  load average while measuring: {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} CPUs")

        db.session.remove()
    sink = start_sink(port)
    try:
        limit = min(args.readers, args.send)
        for senders in args.senders:
            sent = [0]
            lock = threading.Lock()
            started = time.perf_counter()
            threads = [threading.Thread(target=_sender, args=(app, args.batch, limit, sent, lock))
                       for _ in range(senders)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            print(f"sender: {sent[0]} messages to a local aiosmtpd sink (separate process) in "
                  f"{elapsed:.2f} s = {sent[0] / elapsed:.0f} messages/s with {senders} "
                  f"sender thread(s), batch {args.batch} (target >= 200/s)")
    finally:
        sink.stdin.close()
        sink.wait(timeout=10)
    with app.app_context():
        pending = db.session.scalar(sa.select(sa.func.count(OutboxMail.id))
                                    .where(OutboxMail.status == "pending"))
        print(f"  still pending: {pending}")
        db.session.remove()  # its read lock would block DROP TABLE on PostgreSQL
        if args.database_url:
            db.drop_all()
        db.engine.dispose()


if __name__ == "__main__":
    main()
