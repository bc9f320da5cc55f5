"""`make bench-mix`: the shop under a realistic mix of traffic, under gunicorn, against the
bare-Flask ceiling measured in the same sitting.

A benchmark that repeats one URL always hits the page cache. Shoppers do not: they spread
over the whole catalog, in two languages, and a third of them are members with their own
carts. So each wrk connection replays its own plan of requests drawn at random (seeded):

- books by popularity on a Zipf law (s = BENCH_ZIPF_S, default 1.0) over every active book,
  ranked by copies sold; categories by their number of books; searches for words of the
  titles of books drawn the same way; the home page;
- every request in English or Chinese (the `lang` cookie), half and half;
- 30 % from logged-in members (BENCH_MIX_MEMBERS of them, each with a cart of 1-3 books),
  who also open their cart, their orders and their account page;
- a purchase (add to cart, checkout, the order page) once in every BENCH_BUY_EVERY requests
  of a connection, by that connection's own buyer.

It prints throughput (HTTP requests/s) and orders/s, p50/p99 latency, the share of catalog pages
served from the page cache (the X-Cache header), errors and the workers' memory (RSS; PSS, the
shared cache file counted once; and PSS's anonymous part, each worker's own heap), for SQLite
and PostgreSQL (bench/run.py's data sets and
servers). Figures only, never asserted; bench/README.md keeps them.

Environment: bench/run.py's (BENCH_SIZE, BENCH_SECONDS (default here 20), BENCH_CONNECTIONS,
BENCH_DATABASES, BENCH_PG_URL, BENCH_PG_DATABASE, BENCH_FRESH), plus BENCH_ZIPF_S,
BENCH_MIX_MEMBERS (default 40), BENCH_BUY_EVERY (default 50), BENCH_PLAN (requests per
connection's plan, default 20000), BENCH_MIX_REDIS=1 (each database again with the page cache
in Redis at BENCH_REDIS_URL, default redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate

import sqlalchemy as sa

from bench import loadgen
from bench import run as base

SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
ZIPF_S = float(os.environ.get("BENCH_ZIPF_S", "1.0"))
MIX_MEMBERS = int(os.environ.get("BENCH_MIX_MEMBERS", "40"))
BUY_EVERY = int(os.environ.get("BENCH_BUY_EVERY", "50"))
PLAN_LENGTH = int(os.environ.get("BENCH_PLAN", "20000"))
# BENCH_MIX_REDIS=1: each database again with the page cache in Redis, shared by the workers
# (database 15 of BENCH_REDIS_URL, emptied before the run).
REDIS_URL = (os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
             if os.environ.get("BENCH_MIX_REDIS") == "1" else None)
MEMBER_SHARE = 0.30
LANGUAGES = ("en", "zh_Hans")
PLAN_DIR = base.OUT / "mix"
PASSWORD = base.BENCH_PASSWORD
# Targets from the performance issue, as shares of the ceiling in the same sitting.
TARGET_RATIO = 0.30
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 100.0

# What a visitor and a member ask for, and how often (shares of their requests).
VISITOR_KINDS = (("book", 55), ("category", 15), ("search", 15), ("home", 15))
MEMBER_KINDS = (("book", 45), ("home", 10), ("category", 10), ("search", 10), ("cart", 15),
                ("orders", 5), ("account", 5))


@dataclass
class Catalog:
    books: list[int]  # active books, most sold first
    categories: list[tuple[str, int]]  # slug, books in it
    words: list[str]
    checkout_book: int
    title_words: dict[int, list[str]]


class Zipf:
    """Ranks 0..n-1 drawn with probability proportional to 1 / (rank + 1) ** s."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self.cumulative = list(accumulate(1 / (k + 1) ** s for k in range(n)))
        self.rng = rng

    def draw(self) -> int:
        point = self.rng.random() * self.cumulative[-1]
        return bisect_left(self.cumulative, point)


def _title_words(title: str) -> list[str]:
    """Words a shopper would type: Latin words of 4+ letters; for a title in Chinese (no
    spaces) its first two characters."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]{4,}", title)]
    cjk = re.findall(r"[\u4e00-\u9fff]+", title)
    words += [run[:2] for run in cjk if len(run) >= 2]
    return words


def _app(url: str):
    from app import create_app
    from config import DevelopmentConfig

    return create_app(type("BenchConfig", (DevelopmentConfig,),
                           {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": base.SECRET}))


def make_members(url: str, emails: list[str], *, with_carts: bool) -> None:
    """Members for the mix (created once); their carts emptied, then 1-3 popular books in
    stock put in each when `with_carts` (seeded: the same carts every run)."""
    from app.core.extensions import db
    from app.membership import members as membership
    from app.models import Book, Cart, CartLine, Role
    from app.ordering import cart

    rng = random.Random(7)
    with _app(url).app_context():
        people = [membership.find_by_email(e) or membership.create_member(
            e, PASSWORD, f"Mix Shopper {n}", role=Role.MEMBER) for n, e in enumerate(emails)]
        db.session.flush()
        carts = sa.select(Cart.id).where(Cart.member_id.in_([m.id for m in people]))
        db.session.execute(sa.delete(CartLine).where(CartLine.cart_id.in_(carts)))
        if with_carts:
            in_stock = db.session.scalars(
                sa.select(Book.id).where(Book.is_active.is_(True), Book.stock_on_hand > 5)
                .order_by(Book.sold_count.desc()).limit(200)).all()
            for member in people:
                for book_id in rng.sample(in_stock, rng.randint(1, 3)):
                    cart.add(member, {}, book_id, 1)
        db.session.commit()
        db.engine.dispose()


def prepare_mix(url: str, info: dict) -> tuple[Catalog, list[str]]:
    """The catalog the plans draw from, and the mix's members (with their carts)."""
    from app.core.extensions import db
    from app.models import Book, Category

    with _app(url).app_context():
        books = db.session.execute(
            sa.select(Book.id, Book.title).where(Book.is_active.is_(True))
            .order_by(Book.sold_count.desc(), Book.id)).all()
        categories = db.session.execute(
            sa.select(Category.slug, sa.func.count(Book.id))
            .join(Book, Book.category_id == Category.id)
            .where(Book.is_active.is_(True)).group_by(Category.slug)).all()
        words = sorted({w for _, title in books[:3000] for w in _title_words(title)})
        db.engine.dispose()
    emails = [f"bench-mix-{n}@bookstation.test" for n in range(MIX_MEMBERS)]
    make_members(url, emails, with_carts=True)
    catalog = Catalog([b.id for b in books], [(s, n) for s, n in categories], words,
                      info["checkout_book_id"],
                      {b.id: _title_words(b.title) for b in books})
    return catalog, emails


def analyze(url: str) -> None:
    """On PostgreSQL, ANALYZE once the mix's members, carts and sessions exist: they were
    written after bench/run.py's `prepare` vacuumed, and autovacuum (off on this workplace's
    server) would have analysed tables that grew so much before a shop saw this traffic.
    Without it the planner took the carts for the three lines `prepare` left and joined a
    member's cart to every book: 6 ms for the cart page's lines, not 0.4."""
    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()


def write_plans(catalog: Catalog, connections: int, member_count: int) -> None:
    """One plan per connection (bench/mix.lua's format), drawn with a seed per connection."""
    PLAN_DIR.mkdir(parents=True, exist_ok=True)
    for thread in range(1, connections + 1):
        rng = random.Random(1000 + thread)
        books = Zipf(len(catalog.books), ZIPF_S, rng)
        category_weights = list(accumulate(n for _, n in catalog.categories))
        lines = []
        for n in range(PLAN_LENGTH):
            if BUY_EVERY and n % BUY_EVERY == BUY_EVERY - 1:
                lines.append("B")
                continue
            lang = rng.choice(LANGUAGES)
            member = rng.randint(1, member_count) if rng.random() < MEMBER_SHARE else 0
            kinds = MEMBER_KINDS if member else VISITOR_KINDS
            kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            if kind == "book":
                path = f"/book/{catalog.books[books.draw()]}"
            elif kind == "category":
                point = rng.random() * category_weights[-1]
                path = f"/category/{catalog.categories[bisect_left(category_weights, point)][0]}"
            elif kind == "search":
                word = _search_word(catalog, books, rng)
                path = f"/search?q={word}"
            else:
                path = {"home": "/", "cart": "/cart", "orders": "/orders",
                        "account": "/account/"}[kind]
            lines.append(f"G {path} {member} {lang}")
        (PLAN_DIR / f"plan-{thread}.txt").write_text("\n".join(lines) + "\n")


def _search_word(catalog: Catalog, books: Zipf, rng: random.Random) -> str:
    """A word from the title of a book drawn by popularity (else any title word)."""
    from urllib.parse import quote

    drawn = books.draw()
    words = catalog.title_words.get(catalog.books[drawn]) or catalog.words or ["book"]
    return quote(rng.choice(words))


def log_in_all(port: int, emails: list[str], book_id: int) -> list[str]:
    """Each member's cookie and CSRF token, "cookie|token", as bench/mix.lua takes them."""
    pairs = []
    for email in emails:
        visitor = loadgen.Visitor(port)
        visitor.log_in(email, PASSWORD)
        token = visitor.csrf(f"/book/{book_id}")
        pairs.append(f"{visitor.cookie_header()}|{token}")
    return pairs


def run_mix(wrk: str, port: int, catalog: Catalog, buyers: int, pairs: list[str]) -> dict:
    script = str(base.ROOT / "bench" / "mix.lua")
    args = [str(PLAN_DIR), str(catalog.checkout_book), str(buyers), *pairs]
    connections = base.CONNECTIONS
    began = time.perf_counter()
    result, out = loadgen.wrk_script(wrk, port, script, args, SECONDS, connections)
    hits, misses, failures, orders = map(int, re.search(
        r"mix hits (\d+) misses (\d+) failures (\d+) orders (\d+)", out).groups())
    elapsed = result.seconds or (time.perf_counter() - began)
    return {"rps": result.rps, "p50_ms": result.p50_ms, "p99_ms": result.p99_ms,
            "requests": result.requests, "errors": result.errors + failures,
            "notes": result.notes, "hits": hits, "misses": misses,
            "hit_rate": hits / (hits + misses) if hits + misses else 0.0,
            "orders": orders, "orders_per_s": orders / elapsed if elapsed else 0.0}


def bench_database(label: str, url: str, wrk: str, redis_url: str | None = None) -> dict:
    if redis_url:
        label += " + Redis"
    print(f"\n== {label}: data set '{base.SIZE}'")
    seed_seconds = base.load_data(url)
    if seed_seconds is not None:
        print(f"  seeded in {seed_seconds:.0f} s")
    info = base.prepare(url)
    catalog, emails = prepare_mix(url, info)
    print(f"  {len(catalog.books):,} active books, {len(catalog.categories)} categories, "
          f"{len(catalog.words):,} search words, {len(emails)} members in the mix")
    connections = base.CONNECTIONS
    buyers = [f"bench-mix-buyer-{n}@bookstation.test" for n in range(connections)]
    make_members(url, buyers, with_carts=False)
    write_plans(catalog, connections, len(emails))
    env = base.server_env(url)
    if redis_url:  # the page cache and the rate limits shared by the workers, emptied first
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env["REDIS_URL"] = redis_url
    server = base.Server("run:app", env).start()
    try:
        pairs = log_in_all(server.port, buyers + emails, catalog.checkout_book)
        analyze(url)
        result = run_mix(wrk, server.port, catalog, len(buyers), pairs)
        base.drain(server.port)
        rss = server.worker_rss_mb()
        pss = server.worker_pss_mb()
        anon = server.worker_pss_anon_mb()
    finally:
        server.stop()
    result.update(database=label, worker_rss_mb=rss, worker_pss_mb=pss,
                  worker_pss_anon_mb=anon, books=len(catalog.books))
    print(f"  {result['rps']:,.0f} req/s, p50 {result['p50_ms']:.2f} ms, p99 "
          f"{result['p99_ms']:.2f} ms, hit rate {result['hit_rate'] * 100:.1f} %, "
          f"{result['orders_per_s']:.1f} orders/s, {result['errors']} errors")
    return result


def main() -> int:
    base.OUT.mkdir(parents=True, exist_ok=True)
    wrk = loadgen.ensure_wrk()
    if not wrk:
        print("The realistic mix needs wrk (apt-get install wrk); not found.")
        return 1
    ceiling, _ = base.measure_ceiling(wrk)
    print(f"Ceiling: {ceiling.rps:,.0f} req/s")
    results = []
    for database in base.DATABASES:
        url = base.sqlite_url() if database == "sqlite" else base.postgres_url()
        label = "SQLite" if database == "sqlite" else "PostgreSQL"
        if url:
            results.append(bench_database(label, url, wrk))
            if REDIS_URL:
                results.append(bench_database(label, url, wrk, REDIS_URL))
    again, _ = base.measure_ceiling(wrk)
    mean = (ceiling.rps + again.rps) / 2
    print("\n" + "=" * 92)
    print(f"Bare Flask ceiling: {mean:,.0f} req/s (first {ceiling.rps:,.0f}, last "
          f"{again.rps:,.0f}); {SECONDS} s, {base.CONNECTIONS} connections, Zipf s={ZIPF_S}, "
          f"{int(MEMBER_SHARE * 100)} % members, a purchase every {BUY_EVERY} requests")
    print(f"  {'database':<20} {'req/s':>8} {'% ceil':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'hit %':>6} {'orders/s':>9} {'errors':>6}  RSS; PSS; anon MB    holds")
    for r in results:
        r["ratio"] = r["rps"] / mean if mean else 0.0
        worst = max(r["worker_pss_mb"] or [0])  # the shared cache file counted once
        holds = ["ratio " + ("yes" if r["ratio"] >= TARGET_RATIO else "NO"),
                 "p99 " + ("yes" if r["p99_ms"] < TARGET_P99_MS else "NO"),
                 "PSS " + ("yes" if worst <= TARGET_RSS_MB else "NO")]
        rss = "; ".join("/".join(f"{mb:.0f}" for mb in r[key]) for key in (
            "worker_rss_mb", "worker_pss_mb", "worker_pss_anon_mb"))
        print(f"  {r['database']:<20} {r['rps']:8.0f} {r['ratio'] * 100:6.1f}% "
              f"{r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['hit_rate'] * 100:5.1f}% "
              f"{r['orders_per_s']:9.1f} {r['errors']:6d}  {rss:<19}  {', '.join(holds)}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (base.OUT / f"mix-{base.SIZE}-{stamp}.json").write_text(json.dumps(
        {"ceiling": mean, "results": results, "zipf_s": ZIPF_S, "seconds": SECONDS},
        indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
