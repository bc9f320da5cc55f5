"""Bench: the outbox sender's throughput, "sent" recorded per message or in groups (issue 17).

    .venv/bin/python bench/mail_sender.py [--messages 2000] [--rounds 3] [--record-every 1 5]
                                          [--senders 1] [--database-url URL]

Queues `--messages` outbox rows, then times one sender (`deliver_due` passes of
MAIL_BATCH_SIZE, 100) delivering them all to an aiosmtpd sink in its own process; once per
MAIL_RECORD_EVERY value, the values interleaved round after round (in alternating order,
after one uncounted warm-up each) so every setting sees the same machine.
MAIL_RECORD_EVERY = 1 (the default since issue 17) commits "sent" after each message; 5 was
the default before (a killed sender could send up to 5 mails twice). Uses a throw-away SQLite
file unless --database-url points at a PostgreSQL database (its tables are created and
dropped). Target: at least 200 messages/s per sender. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.core.db import utcnow  # noqa: E402
from app.core.extensions import db  # noqa: E402
from app.mail.sender import deliver_due  # noqa: E402
from app.models import MailStatus, OutboxMail  # noqa: E402
from bench.demand_fanout import free_port, start_sink  # noqa: E402
from config import TestConfig  # noqa: E402

BODY = ("Dear reader,\n\nThe book you asked for has arrived: one copy is held for you until "
        "Monday.\n\n" + "A line of the mail's text, as long as a real one. " * 20)


def queue(count: int) -> None:
    now = utcnow()
    db.session.execute(sa.delete(OutboxMail))
    db.session.execute(sa.insert(OutboxMail), [
        {"kind": "bench", "to_email": f"reader{n}@example.test", "subject": f"Arrived {n}",
         "body_text": BODY, "body_html": f"<p>{BODY}</p>", "status": MailStatus.PENDING,
         "attempts": 0, "created_at": now, "next_attempt_at": now,
         "headers": {"List-Unsubscribe": f"<http://localhost/unsubscribe/{n}>"},
         "message_id": f"<bench-{n}@bookstation.mail>"} for n in range(count)])
    db.session.commit()


def deliver_all(app, senders: int) -> tuple[int, float]:
    sent = [0]
    lock = threading.Lock()

    def sender() -> None:
        with app.app_context():
            try:
                while True:
                    report = deliver_due()
                    with lock:
                        sent[0] += len(report.sent)
                    if not report.claimed:
                        return
            finally:
                db.session.remove()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent[0], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record-every", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--senders", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-mail-sender-")
    url = args.database_url or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    port = free_port()
    app = create_app(type("BenchConfig", (TestConfig,), {
        "SQLALCHEMY_DATABASE_URI": url, "MAIL_PORT": port, "MAIL_BATCH_SIZE": 100,
        "TESTING": False, "LOG_LEVEL": "WARNING"}))
    with app.app_context():
        db.drop_all()
        db.create_all()
        dialect = db.engine.dialect.name
    sink = start_sink(port)
    rates: dict[int, list[float]] = {k: [] for k in args.record_every}
    try:
        for every in args.record_every:  # warm-up, not counted: caches, prepared statements
            app.config["MAIL_RECORD_EVERY"] = every
            with app.app_context():
                queue(min(300, args.messages))
                db.session.remove()
            deliver_all(app, args.senders)
        for round_no in range(1, args.rounds + 1):
            # the settings' order alternates, so a drift of the machine's load hits both
            order = args.record_every if round_no % 2 else args.record_every[::-1]
            for every in order:
                app.config["MAIL_RECORD_EVERY"] = every
                with app.app_context():
                    queue(args.messages)
                    db.session.remove()
                sent, elapsed = deliver_all(app, args.senders)
                assert sent == args.messages, (sent, args.messages)
                rates[every].append(sent / elapsed)
                print(f"round {round_no}, MAIL_RECORD_EVERY={every}: {sent} messages in "
                      f"{elapsed:.2f} s = {sent / elapsed:.0f}/s "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        sink.stdin.close()
        sink.wait(timeout=10)
        with app.app_context():
            db.session.remove()
            if args.database_url:
                db.drop_all()
            db.engine.dispose()
    print(f"database: {dialect}; {args.senders} sender(s), batch 100, {args.messages} "
          f"messages a round, {args.rounds} rounds (target >= 200/s per sender)")
    base = statistics.median(rates[args.record_every[-1]])
    for every, values in rates.items():
        median = statistics.median(values)
        print(f"  MAIL_RECORD_EVERY={every}: median {median:.0f}/s "
              f"(runs {', '.join(f'{v:.0f}' for v in values)}); "
              f"{median / base:.2f}x of MAIL_RECORD_EVERY={args.record_every[-1]}")


if __name__ == "__main__":
    main()
