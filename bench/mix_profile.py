"""Where the realistic mix's time goes: its plans replayed in one process, timed by request kind.

    .venv/bin/python -m bench.mix_profile [LINES] [PLAN ...]

Replays the first LINES lines (default 3000) of the plans `make bench-mix` wrote
(bench/out/mix/plan-N.txt; default plans 1 and 2) against the bench data set
(BENCH_DATABASE_URL, default bench/run.py's SQLite set of BENCH_SIZE: BENCH_SIZE=demo for the
demo set), in this process, through the app's WSGI callable with the page cache on, as the
mix's members and visitors: each member logged in as a browser does, each visitor with the
`lang` cookie of the plan line. A purchase ("B") is
`POST /cart/add` of the mix's checkout book, `POST /checkout` and the order page, by one buyer.

Prints each kind of request (page, member or visitor, the X-Cache result) with its count, its
mean milliseconds and its share of the replay's time: the pages worth making cheaper first.
One process, no server: the shares are the finding, not the absolute figures. Run
`make bench-mix` first (it writes the plans and makes the mix's members). Nothing is asserted.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench import run as base

ROOT = Path(__file__).resolve().parent.parent
PLAN_DIR = base.OUT / "mix"
MEMBERS = 40  # bench/realistic.py's BENCH_MIX_MEMBERS default: member n is bench-mix-<n-1>
BUYER = "bench-mix-buyer-0@bookstation.test"
ADDRESS = {"name": "Bench Shopper", "line1": "1 Load Street", "city": "Shanghai",
           "postcode": "200000", "country": "China", "payment_method": "cod"}


def _app():
    os.environ.update({"BOOKSTATION_ENV": "production", "BOOKSTATION_SERVE_ONLY": "1",
                       "SECRET_KEY": base.SECRET, "SESSION_COOKIE_SECURE": "0",
                       "LOG_LEVEL": "warning", "LOGIN_RATE_LIMIT": "10000 per minute",
                       "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", base.sqlite_url())})
    os.environ.pop("REDIS_URL", None)  # one process: its own cache, as one machine has
    sys.path.insert(0, str(ROOT))
    from run import app

    return app


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _logged_in(app, email: str):
    from werkzeug.test import Client

    client = Client(app)
    token = _token(client.get("/account/login").get_data(as_text=True))
    answer = client.post("/account/login", data={"csrf_token": token, "email": email,
                                                 "password": base.BENCH_PASSWORD})
    if answer.status_code not in (302, 303):
        raise SystemExit(f"{email} could not log in ({answer.status_code}): run make bench-mix")
    return client


def _checkout_book(app) -> int:
    """The mix's checkout book: the best seller on sale (bench/run.py's `prepare` stocks it)."""
    import sqlalchemy as sa

    from app.catalog.models import Book
    from app.core.extensions import db

    with app.app_context():
        return db.session.scalar(sa.select(Book.id).where(Book.is_active.is_(True))
                                 .order_by(Book.sold_count.desc(), Book.id).limit(1))


def main() -> int:
    lines_each = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    plans = sys.argv[2:] or ["1", "2"]
    app = _app()
    from werkzeug.test import Client

    members = {n: _logged_in(app, f"bench-mix-{n - 1}@bookstation.test")
               for n in range(1, MEMBERS + 1)}
    visitors = {}
    buyer = _logged_in(app, BUYER)
    book = _checkout_book(app)
    buyer_token = _token(buyer.get(f"/book/{book}").get_data(as_text=True))
    lines = []
    for plan in plans:
        lines += (PLAN_DIR / f"plan-{plan}.txt").read_text().split("\n")[:lines_each]
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def timed(kind: str, call):
        began = time.perf_counter()
        response = call()
        spent[kind][0] += 1
        spent[kind][1] += time.perf_counter() - began
        return response

    for line in filter(None, lines):
        if line == "B":
            timed("purchase: add to cart", lambda: buyer.post(
                "/cart/add", data={"book_id": book, "quantity": 1, "csrf_token": buyer_token}))
            placed = timed("purchase: checkout", lambda: buyer.post(
                "/checkout", data={**ADDRESS, "csrf_token": buyer_token}))
            order_page = placed.headers["Location"]
            timed("purchase: order page", lambda url=order_page: buyer.get(url))
            continue
        _kind, path, who, lang = line.split()
        if int(who):
            client = members[int(who)]
            client.set_cookie("lang", lang)
        else:
            client = visitors.get(lang)
            if client is None:
                client = visitors[lang] = Client(app)
                client.set_cookie("lang", lang)
        page = path.split("/")[1].split("?")[0] or "home"
        began = time.perf_counter()
        response = client.get(path)
        kind = (f"{page}, {'member' if int(who) else 'visitor'}, "
                f"{response.headers.get('X-Cache', 'not cached')}")
        spent[kind][0] += 1
        spent[kind][1] += time.perf_counter() - began
    total = sum(seconds for _n, seconds in spent.values())
    count = sum(n for n, _seconds in spent.values())
    print(f"{count:,} requests replayed, {total:.2f} s, {total / count * 1000:.2f} ms each")
    print(f"  {'request':34s} {'count':>6s} {'ms each':>8s} {'% of time':>10s}")
    for kind, (n, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
        print(f"  {kind:34s} {n:6d} {seconds / n * 1000:8.2f} {seconds / total * 100:9.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
