"""In-process A/B of one order: two checkouts of the shop, one sitting, interleaved.

    .venv/bin/python -m bench.ab_checkout DIR_A DIR_B [ROUNDS]

What a browser does to buy a book (`POST /cart/add`, `POST /checkout`, `GET` of the order page
it is sent to), as bench/checkout.lua does through gunicorn, but in one process per checkout
(its own `.venv/bin/python`, its own code) with werkzeug's test client, against the same bench
data set (BENCH_DATABASE_URL, default the SQLite demo set bench/run.py seeds). Each side is
its own bench member (bench-5 and bench-6, or BENCH_AB_MEMBERS="a-email,b-email") buying the
checkout book. The two take turns, AB then BA, for ROUNDS rounds of 30 orders; the report gives
each step's median milliseconds in A and B and the median of the per-round ratios B/A. Nothing
is asserted. Run `make bench` (or bench.run's prepare) first: it stocks the checkout book.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from bench.ab_pages import launch, medians, stop

ROOT = Path(__file__).resolve().parent.parent
ORDERS = 30
STEPS = ("add", "checkout", "order page")

WORKER = r"""
import os, re, sys, time
sys.path.insert(0, os.getcwd())
from run import app
from werkzeug.test import Client
client = Client(app)
def token(path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
answer = client.post("/account/login", data={"csrf_token": token("/account/login"),
                     "email": os.environ["BENCH_AB_WHO"], "password": "bench-password-1"})
assert answer.status_code in (302, 303), answer.status_code
csrf = token("/cart")
address = {"name": "Bench Shopper", "line1": "1 Load Street", "city": "Shanghai",
           "postcode": "200000", "country": "China", "payment_method": "cod", "csrf_token": csrf}
add = {"book_id": os.environ["BENCH_AB_BOOK"], "quantity": "1", "csrf_token": csrf}
def order(spent):
    began = time.perf_counter()
    answer = client.post("/cart/add", data=add)
    added = time.perf_counter()
    assert answer.status_code in (302, 303), answer.status_code
    answer = client.post("/checkout", data=address)
    placed = time.perf_counter()
    assert "/orders/" in answer.headers.get("Location", ""), answer.status_code
    assert client.get(answer.headers["Location"]).status_code == 200
    shown = time.perf_counter()
    spent[0] += added - began; spent[1] += placed - added; spent[2] += shown - placed
for _ in range(10):
    order([0.0, 0.0, 0.0])
print("ready", flush=True)
for line in sys.stdin:
    n = int(line)
    spent = [0.0, 0.0, 0.0]
    for _ in range(n):
        order(spent)
    print(" ".join(str(s / n * 1000) for s in spent), flush=True)
"""


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL",
                          f"sqlite:///{ROOT / 'instance' / 'bench' / 'demo.db'}")


def checkout_book(url: str) -> int:
    """The book bench.run.prepare stocks for the checkouts: the best seller."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "SELECT id FROM book WHERE is_active ORDER BY sold_count DESC, id LIMIT 1"
            )).scalar_one()
    finally:
        engine.dispose()


def start(checkout: str, who: str, book: int) -> subprocess.Popen:
    env = {**os.environ, "BOOKSTATION_ENV": "production", "BOOKSTATION_SERVE_ONLY": "1",
           "SECRET_KEY": "bench-secret-key", "SESSION_COOKIE_SECURE": "0",
           "LOG_LEVEL": "warning", "DATABASE_URL": database_url(), "BENCH_AB_WHO": who,
           "BENCH_AB_BOOK": str(book)}
    return launch(checkout, WORKER, env)


def timed(process: subprocess.Popen) -> list[float]:
    process.stdin.write(f"{ORDERS}\n")
    process.stdin.flush()
    return [float(x) for x in process.stdout.readline().split()]


def main() -> int:
    a_dir, b_dir = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    who_a, who_b = os.environ.get(
        "BENCH_AB_MEMBERS", "bench-5@bookstation.test,bench-6@bookstation.test").split(",")
    book = checkout_book(database_url())
    a, b = start(a_dir, who_a, book), start(b_dir, who_b, book)
    pairs = []
    for n in range(rounds):
        if n % 2 == 0:
            ta = timed(a)
            tb = timed(b)
        else:
            tb = timed(b)
            ta = timed(a)
        pairs.append((ta, tb))
    print(f"A = {a_dir}\nB = {b_dir}\n{rounds} rounds of {ORDERS} orders, {database_url()}")
    print(f"  {'step':<12} {'A ms':>7} {'B ms':>7} {'B/A':>6}")
    for k, step in enumerate(STEPS):
        ms_a, ms_b, ratio = medians([(x[k], y[k]) for x, y in pairs])
        print(f"  {step:<12} {ms_a:7.2f} {ms_b:7.2f} {ratio:6.3f}")
    ms_a, ms_b, ratio = medians([(sum(x), sum(y)) for x, y in pairs])
    print(f"  {'one order':<12} {ms_a:7.2f} {ms_b:7.2f} {ratio:6.3f}")
    stop(a, b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
