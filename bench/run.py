"""`make bench`: load-test Bookstation under gunicorn against a bare-Flask ceiling.

For each database (SQLite always; PostgreSQL when reachable at BENCH_PG_URL or
TEST_DATABASE_URL) it loads the data set (`flask seed --size $BENCH_SIZE`, once: the database is
kept and reused), starts the shop with gunicorn.conf.py (2 sync workers, production config, no
access log) and measures each page for BENCH_SECONDS at BENCH_CONNECTIONS connections on
127.0.0.1, then the same gunicorn settings serving bench/hello.py. Figures are printed (and
written to bench/out/), never asserted. See bench/README.md.

Environment: BENCH_SIZE (large | demo, default large), BENCH_SECONDS (default 8),
BENCH_CONNECTIONS (default 8), BENCH_DATABASES (default "sqlite,postgresql"), BENCH_PG_URL,
BENCH_PG_DATABASE (default bookstation_bench_$BENCH_SIZE), BENCH_FRESH=1 (drop and re-seed the
bench databases), BENCH_SCHEMA=models (build the schema from the models instead of the
migrations, like TEST_SCHEMA in tests), BENCH_CACHE (default "on,off": the pages with the page
cache on, then again with PAGE_CACHE_SECONDS=0, the path a shopper takes whenever it misses).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import loadgen

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DATA = ROOT / "instance" / "bench"
SIZE = os.environ.get("BENCH_SIZE", "large")
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
WARMUP_SECONDS = 1
DATABASES = [d.strip() for d in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
             if d.strip()]
PG_URL = os.environ.get("BENCH_PG_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key"
BENCH_PASSWORD = "bench-password-1"
CHECKOUT_MEMBERS = 8
CHECKOUT_STOCK = 100_000
ADMIN = ("admin@bookstation.test", "bookstation-admin")
SEARCH_QUERY = "dragon"
# " off" would be neither "on" nor "off": measured with the cache on, labelled cache off.
CACHE_MODES = [m.strip() for m in os.environ.get("BENCH_CACHE", "on,off").split(",")
               if m.strip()]
# Targets as a share of the bare-Flask ceiling measured in the same run: the cached rows' from
# the first performance issue, the cache-off, member and checkout rows' from the second.
TARGETS = {"home": 0.60, "home member": 0.60, "category": 0.30, "search": 0.25, "book": 0.45,
           "book member": 0.25, "cart": 0.25, "checkout": 0.04,
           "category, cache off": 0.20, "search, cache off": 0.20, "book, cache off": 0.25,
           "book member, cache off": 0.25, "cart, cache off": 0.25}
P99_TARGET_MS = 50.0
RSS_TARGET_MB = 100.0
START_TARGET_S = 3.0


@dataclass
class Row:
    page: str
    path: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    tool: str
    ratio: float = 0.0
    http_rps: float = 0.0  # checkout: HTTP requests/s (three an order), the other rows' unit


# --------------------------------------------------------------------------- databases


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _flask(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", "--app", "run", *args], cwd=ROOT, env=env,
                   check=True)


def sqlite_url() -> str:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{SIZE}.db"
    if os.environ.get("BENCH_FRESH") == "1" and path.exists():
        path.unlink()
    return f"sqlite:///{path}"


def postgres_url() -> str | None:
    admin_url = sa.make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
                            if PG_URL.startswith("postgresql://") else PG_URL)
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = os.environ.get("BENCH_PG_DATABASE", f"bookstation_bench_{SIZE}")
    try:
        with engine.connect() as conn:
            if os.environ.get("BENCH_FRESH") == "1":
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": name})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"  PostgreSQL not reachable ({exc.__class__.__name__}): skipped")
        return None
    finally:
        engine.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def load_data(url: str) -> float | None:
    """Migrate and seed (a no-op when the database already has books); the seconds it took."""
    env = {**os.environ, "DATABASE_URL": url, "BOOKSTATION_ENV": "development"}
    began = time.perf_counter()
    if os.environ.get("BENCH_SCHEMA") == "models":
        _create_from_models(url)  # while a model change awaits its migration
    else:
        _flask(env, "db", "upgrade")
    has_books = _has_books(url)
    if not has_books:
        _flask(env, "seed", "--size", SIZE)
    return None if has_books else time.perf_counter() - began


def _create_from_models(url: str) -> None:
    from app import create_app
    from app.catalog import search_index
    from app.core.extensions import db
    from config import DevelopmentConfig

    app = create_app(type("BenchConfig", (DevelopmentConfig,),
                                {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET}))
    with app.app_context():
        db.create_all()
        with db.engine.begin() as conn:
            search_index.install(conn)
        db.engine.dispose()


def _has_books(url: str) -> bool:
    from app.models import Book

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.select(sa.exists().where(Book.id.is_not(None)))) or False
    finally:
        engine.dispose()


def prepare(url: str) -> dict:
    """Bench accounts, a stocked book for the checkouts, and the pages' ids (in the app)."""
    from app import create_app
    from app.core.extensions import db
    from app.membership import members
    from app.models import Book, Cart, CartLine, Category, Member, OrderLine, Role
    from app.ordering import cart
    from app.seed.loader import vacuum_after_load
    from config import DevelopmentConfig

    app = create_app(type("BenchConfig", (DevelopmentConfig,),
                                {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET}))
    with app.app_context():
        people = []
        for n in range(CHECKOUT_MEMBERS + 1):
            email = f"bench-{n}@bookstation.test"
            member = members.find_by_email(email) or members.create_member(
                email, BENCH_PASSWORD, f"Bench Shopper {n}", role=Role.MEMBER)
            people.append(member)
        db.session.flush()
        ids = [m.id for m in people]
        carts = sa.select(Cart.id).where(Cart.member_id.in_(ids))
        db.session.execute(sa.delete(CartLine).where(CartLine.cart_id.in_(carts)))
        best = db.session.scalars(sa.select(Book).where(Book.is_active.is_(True))
                                  .order_by(Book.sold_count.desc(), Book.id).limit(4)).all()
        checkout_book = best[0]
        checkout_book.stock_on_hand = CHECKOUT_STOCK
        for book in best[1:]:
            book.stock_on_hand = max(book.stock_on_hand, 50)
            cart.add(people[0], {}, book.id, 1)  # the cart page shows three lines
        counts = (sa.select(Category.slug, sa.func.count(Book.id))
                  .join(Book, Book.category_id == Category.id)
                  .group_by(Category.slug).order_by(sa.func.count(Book.id).desc()).limit(1))
        slug, in_category = db.session.execute(counts).one()
        books = db.session.scalar(sa.select(sa.func.count(Book.id)))
        order_lines = db.session.scalar(sa.select(sa.func.count(OrderLine.id)))
        member_count = db.session.scalar(sa.select(sa.func.count(Member.id)))
        db.session.commit()
        info = {
            "book_id": best[1].id,
            "checkout_book_id": checkout_book.id,
            "checkout_stock": CHECKOUT_STOCK,
            "category": slug,
            "category_books": in_category,
            "books": books,
            "members": member_count,
            "order_lines": order_lines,
            "members_emails": [m.email for m in people],
        }
        # Every run starts from a vacuumed database, as autovacuum keeps a production one
        # (this workplace's PostgreSQL runs without it; earlier runs' checkouts leave dead rows).
        vacuum_after_load()
        db.engine.dispose()
    return info


def verify_checkouts(url: str, info: dict, since: datetime) -> str:
    """No order oversold: stock fell by exactly what this run's orders took, never below 0.

    Called once the server has finished the requests still in flight when the load stopped;
    the stock and the orders are read in one statement (one snapshot), else an order
    committed between two reads would look like a mismatch."""
    from app.models import Book, Member, Order, OrderLine, OrderStatus

    engine = sa.create_engine(url)
    bench_orders = (Member.email.like("bench-%"), Order.placed_at >= since)
    stock_now = (sa.select(Book.stock_on_hand).where(Book.id == info["checkout_book_id"])
                 .scalar_subquery())
    copies = (sa.select(sa.func.coalesce(sa.func.sum(OrderLine.quantity), 0))
              .join(Order, Order.id == OrderLine.order_id)
              .join(Member, Member.id == Order.member_id)
              .where(OrderLine.book_id == info["checkout_book_id"], *bench_orders,
                     Order.status != OrderStatus.CANCELLED).scalar_subquery())
    placed = (sa.select(sa.func.count(Order.id)).join(Member, Member.id == Order.member_id)
              .where(*bench_orders).scalar_subquery())
    try:
        with engine.connect() as conn:
            stock, sold, orders = conn.execute(sa.select(stock_now, copies, placed)).one()
    finally:
        engine.dispose()
    taken = info["checkout_stock"] - stock
    ok = stock >= 0 and taken == sold
    return (f"{orders} orders placed; stock {info['checkout_stock']} -> {stock}, "
            f"{sold} copies ordered: {'no oversold order' if ok else 'MISMATCH'}")


# --------------------------------------------------------------------------- servers


class Server:
    """gunicorn with gunicorn.conf.py; its output goes to bench/out/server-*.log."""

    def __init__(self, app_path: str, env: dict) -> None:
        self.port = _free_port()
        self.env = {**env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        # Each server starts on an empty machine cache (the LMDB file every worker maps), as
        # a newly set-up machine does, and removes it when it stops: the file kept growing
        # over a sitting's runs, and the workers' PSS, which counts its pages, with it.
        self.cache_dir = None
        if "CACHE_DIR" not in env:
            self.cache_dir = tempfile.mkdtemp(prefix="bench-cache-")
            self.env["CACHE_DIR"] = self.cache_dir
        self.app_path = app_path
        self.process: subprocess.Popen | None = None
        self.start_seconds = 0.0

    def start(self) -> Server:
        began = time.perf_counter()
        name = self.app_path.split(":")[0].replace(".", "-")
        self.log_path = OUT / f"server-{name}-{self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app_path],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = began + 60
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text()[-3000:])
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/")
                if conn.getresponse().status == 200:
                    self.start_seconds = time.perf_counter() - began
                    return self
            except OSError:
                time.sleep(0.05)
            finally:
                conn.close()
        raise RuntimeError("server did not start")

    def worker_rss_mb(self) -> list[float]:
        """Each worker's VmRSS (/proc/<pid>/status)."""
        return self._worker_kb("status", "VmRSS:")

    def worker_pss_mb(self) -> list[float]:
        """Each worker's proportional set size (/proc/<pid>/smaps_rollup): its private memory
        plus its share of pages shared with other processes, such as the machine cache's
        LMDB file that every worker maps (VmRSS counts those whole in each worker)."""
        return self._worker_kb("smaps_rollup", "Pss:")

    def worker_pss_anon_mb(self) -> list[float]:
        """The anonymous part of each worker's PSS (/proc/<pid>/smaps_rollup, Pss_Anon): the
        memory it allocated itself (its share of what it still shares with the master after
        the fork), without files it maps, such as the machine cache's LMDB file."""
        return self._worker_kb("smaps_rollup", "Pss_Anon:")

    def _worker_kb(self, proc_file: str, field: str) -> list[float]:
        """`field` (in kB) of each worker's /proc/<pid>/`proc_file`, in MB."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        sizes = []
        for child in children:
            for line in Path(f"/proc/{child}/{proc_file}").read_text().splitlines():
                if line.startswith(field):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        if self.cache_dir is not None:
            shutil.rmtree(self.cache_dir, ignore_errors=True)


def server_env(url: str | None) -> dict:
    env = {
        **os.environ,
        "BOOKSTATION_ENV": "production",
        "SECRET_KEY": SECRET,
        "WEB_CONCURRENCY": "2",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "warning",
        "LOGIN_RATE_LIMIT": "10000 per minute",
    }
    env.pop("REDIS_URL", None)  # one machine: local cache and rate-limit storage
    if url:
        env["DATABASE_URL"] = url
    return env


# --------------------------------------------------------------------------- measuring


def measure_get(wrk: str | None, port: int, path: str, cookie: str | None = None):
    if wrk:
        loadgen.wrk_get(wrk, port, path, WARMUP_SECONDS, CONNECTIONS, cookie)
        return loadgen.wrk_get(wrk, port, path, SECONDS, CONNECTIONS, cookie)
    loadgen.python_get(port, path, WARMUP_SECONDS, CONNECTIONS, cookie)
    return loadgen.python_get(port, path, SECONDS, CONNECTIONS, cookie)


def drain(port: int, limit: float = 120.0) -> None:
    """Wait until the server answers /healthz promptly again: a slow page leaves requests
    queued (wrk gave up on them, gunicorn still serves them) that would slow the next row."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=limit)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
        except OSError:
            pass
        if time.perf_counter() - began < 0.2:
            return
        time.sleep(0.2)


ORDER_ADDRESS = {"name": "Bench Shopper", "line1": "1 Load Street", "city": "Shanghai",
                 "postcode": "200000", "country": "China", "payment_method": "cod"}


def measure_checkout(wrk: str | None, port: int, info: dict) -> loadgen.LoadResult:
    """Each connection is a logged-in member buying one copy as a browser does: POST
    /cart/add, POST /checkout, GET the order page it is sent to. `requests` counts orders."""
    book = info["checkout_book_id"]
    shoppers = []
    for email in info["members_emails"][1:CHECKOUT_MEMBERS + 1]:
        visitor = loadgen.Visitor(port)
        visitor.log_in(email, BENCH_PASSWORD)
        shoppers.append((visitor, visitor.csrf(f"/book/{book}")))
    if wrk:
        return _wrk_checkout(wrk, port, book, shoppers)
    operations = []
    for visitor, token in shoppers:

        def checkout(visitor=visitor, token=token) -> bool:
            status, _, _ = visitor.request("POST", "/cart/add",
                                           {"csrf_token": token, "book_id": book,
                                            "quantity": "1"})
            if status != 302:
                return False
            status, location, _ = visitor.request("POST", "/checkout",
                                                  {"csrf_token": token, **ORDER_ADDRESS})
            if status != 302 or "/orders/" not in location:
                return False
            return visitor.request("GET", location)[0] == 200

        operations.append(checkout)
    loadgen.python_load(operations[:2], WARMUP_SECONDS)
    result = loadgen.python_load(operations, SECONDS)
    result.http_requests = result.requests * 3
    return result


def _wrk_checkout(wrk: str, port: int, book: int, shoppers: list) -> loadgen.LoadResult:
    """bench/checkout.lua: wrk's latencies are per request (of the three an order takes)."""
    script = str(ROOT / "bench" / "checkout.lua")
    args = [str(book), *(f"{visitor.cookie_header()}|{token}" for visitor, token in shoppers)]
    loadgen.wrk_script(wrk, port, script, args[:3], WARMUP_SECONDS, 2)
    # A warm-up checkout still in flight when wrk stops would empty the cart of a member's
    # first add in the run proper (their checkout then finds it empty: "1:302>/cart"). drain()
    # returns once one worker is free; the other may still finish its last request.
    drain(port)
    time.sleep(0.5)
    result, out = loadgen.wrk_script(wrk, port, script, args, SECONDS, len(shoppers))
    orders, failures = map(int, re.search(r"checkout orders (\d+) failures (\d+)", out).groups())
    result.notes.append(f"{result.requests:,} requests for {orders:,} orders; latency per request")
    result.http_requests = result.requests
    result.requests = orders
    result.errors += failures
    if failures:
        # step 0 add, 1 checkout, 2 order page: "1:302>/cart" is a checkout sent back to the cart
        seen = re.search(r"checkout unexpected (.*)", out)
        result.notes.append(f"{failures} answers not the expected 302/200"
                            + (f" (step:status>location: {seen.group(1)[:300]})" if seen else ""))
    return result


def bench_database(label: str, url: str, wrk: str | None, ceiling: float) -> dict:
    print(f"\n== {label}: data set '{SIZE}'")
    seed_seconds = load_data(url)
    if seed_seconds is not None:
        print(f"  seeded in {seed_seconds:.0f} s")
    info = prepare(url)
    print(f"  {info['books']:,} books, {info['members']:,} members, "
          f"{info['order_lines']:,} order lines")
    rows: list[Row] = []
    rss: list[float] = []
    pss: list[float] = []
    anon: list[float] = []
    start_seconds = 0.0
    for mode in CACHE_MODES:
        env = server_env(url)
        if mode == "off":
            env["PAGE_CACHE_SECONDS"] = "0"
        server = Server("run:app", env).start()
        try:
            rows += measure_pages(wrk, server, info, "" if mode == "on" else ", cache off")
            rss += server.worker_rss_mb()
            pss += server.worker_pss_mb()
            anon += server.worker_pss_anon_mb()
        finally:
            server.stop()
        start_seconds = start_seconds or server.start_seconds
    server = Server("run:app", server_env(url)).start()
    try:
        began = datetime.now(UTC) - timedelta(seconds=1)
        result = measure_checkout(wrk, server.port, info)
        http = result.http_requests or 0
        rows.append(Row("checkout", "POST /cart/add, POST /checkout, GET /orders/<n>", result.rps,
                        result.p50_ms, result.p99_ms, result.errors, result.requests,
                        result.tool, http_rps=http / result.seconds if result.seconds else 0.0))
        print(f"  {'checkout':<13} {result.rps:8.1f} orders/s ({'; '.join(result.notes)})")
        drain(server.port)  # the requests wrk left in flight finish before the count
        time.sleep(0.5)
        stock_check = verify_checkouts(url, info, began)
        rss += server.worker_rss_mb()
        pss += server.worker_pss_mb()
        anon += server.worker_pss_anon_mb()
    finally:
        server.stop()
    for row in rows:
        row.ratio = row.rps / ceiling if ceiling else 0.0
    return {"database": label, "info": info, "rows": [asdict(r) for r in rows],
            "worker_rss_mb": rss, "worker_pss_mb": pss, "worker_pss_anon_mb": anon,
            "start_seconds": start_seconds or server.start_seconds,
            "seed_seconds": seed_seconds, "stock_check": stock_check}


def measure_pages(wrk: str | None, server: Server, info: dict, suffix: str) -> list[Row]:
    """The GET rows against one running server; `suffix` names the cache mode."""
    admin = loadgen.Visitor(server.port)
    admin.log_in(*ADMIN)
    shopper = loadgen.Visitor(server.port)
    shopper.log_in(info["members_emails"][0], BENCH_PASSWORD)
    pages = [
        ("home", "/", None),
        ("home member", "/", shopper.cookie_header()),
        ("category", f"/category/{info['category']}", None),
        ("search", f"/search?q={SEARCH_QUERY}", None),
        ("book", f"/book/{info['book_id']}", None),
        ("book member", f"/book/{info['book_id']}", shopper.cookie_header()),
        ("cart", "/cart", shopper.cookie_header()),
    ]
    if not suffix:
        pages.append(("admin search", "/admin/customers?q=bench-", admin.cookie_header()))
    rows = []
    for name, path, cookie in pages:
        result = measure_get(wrk, server.port, path, cookie)
        drain(server.port)
        rows.append(Row(name + suffix, path, result.rps, result.p50_ms, result.p99_ms,
                        result.errors, result.requests, result.tool))
        notes = f" ({'; '.join(result.notes)})" if result.notes else ""
        print(f"  {name + suffix:<24} {result.rps:8.0f} req/s{notes}")
    return rows


def print_report(ceiling: loadgen.LoadResult, hello_start: float, results: list[dict]) -> None:
    mean_ceiling = ceiling.rps
    print("\n" + "=" * 92)
    print(f"Bare Flask ceiling (bench/hello.py, same gunicorn settings): "
          f"{ceiling.rps:,.0f} req/s ({'; '.join(ceiling.notes)}), p50 {ceiling.p50_ms:.2f} ms, "
          f"p99 {ceiling.p99_ms:.2f} ms, {ceiling.errors} errors, started in {hello_start:.2f} s "
          f"[{ceiling.tool}]")
    print(f"{SECONDS} s per page, {CONNECTIONS} connections, gunicorn 2 sync workers, "
          f"data set '{SIZE}'")
    for result in results:
        info = result["info"]
        print(f"\n{result['database']}: {info['books']:,} books, {info['members']:,} members, "
              f"{info['order_lines']:,} order lines")
        print(f"  {'page':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'% ceiling':>10} {'target':>8}  holds")
        for row in result["rows"]:
            if not row["requests"]:
                print(f"  {row['page']:<24} no request answered within wrk's 5 s timeout")
                continue
            target = TARGETS.get(row["page"])
            read = row["page"] != "checkout"
            holds = []
            if target is not None:
                holds.append("yes" if row["ratio"] >= target else "NO")
            if read:
                holds.append("p99 ok" if row["p99_ms"] < P99_TARGET_MS else "p99 NO")
            print(f"  {row['page']:<24} {row['rps']:8.1f} {row['p50_ms']:8.2f} "
                  f"{row['p99_ms']:8.2f} {row['errors']:7d} {row['ratio'] * 100:9.1f}% "
                  f"{(f'{target * 100:.0f}%' if target else '-'):>8}  {', '.join(holds)}")
        rss = ", ".join(f"{mb:.0f}" for mb in result["worker_rss_mb"])
        pss = ", ".join(f"{mb:.0f}" for mb in result.get("worker_pss_mb", []))
        worst = max(result.get("worker_pss_mb") or result["worker_rss_mb"] or [0])
        anon = ", ".join(f"{mb:.0f}" for mb in result.get("worker_pss_anon_mb", []))
        print(f"  worker memory after load, MB: RSS {rss}; PSS {pss} "
              f"({'under' if worst < RSS_TARGET_MB else 'OVER'} {RSS_TARGET_MB:.0f} MB, judged "
              f"on PSS: the cache file the workers share counts once); of the PSS, "
              f"anonymous (the worker's own heap) {anon}")
        print(f"  start to first page: {result['start_seconds']:.2f} s "
              f"({'under' if result['start_seconds'] < START_TARGET_S else 'OVER'} "
              f"{START_TARGET_S:.0f} s)")
        for row in result["rows"]:
            if row["page"] == "checkout" and row["http_rps"]:
                print(f"  checkout in HTTP requests: {row['http_rps']:,.1f} req/s = "
                      f"{row['http_rps'] / mean_ceiling * 100:.1f} % of the ceiling (the unit of "
                      f"the other rows; the target is judged on orders/s above)")
        print(f"  checkout: {result['stock_check']}")
        print("  (checkout: orders/s; one order = POST /cart/add, POST /checkout and GET of the "
              "order page it leads to;\n   admin search = the customer list, "
              "/admin/customers?q=bench-)")


def measure_ceiling(wrk: str | None) -> tuple[loadgen.LoadResult, float]:
    hello = Server("bench.hello:app", server_env(None)).start()
    try:
        return measure_get(wrk, hello.port, "/"), hello.start_seconds
    finally:
        hello.stop()


def check_settings() -> None:
    """Exit with a message for a BENCH_CACHE or BENCH_DATABASES value the run cannot honour."""
    unknown = [m for m in CACHE_MODES if m not in ("on", "off")]
    if unknown or not CACHE_MODES:
        sys.exit(f"BENCH_CACHE: expected 'on', 'off' or both (comma-separated), "
                 f"got {os.environ.get('BENCH_CACHE')!r}")
    unknown = [d for d in DATABASES if d not in ("sqlite", "postgresql")]
    if unknown or not DATABASES:
        sys.exit(f"BENCH_DATABASES: expected 'sqlite', 'postgresql' or both (comma-separated), "
                 f"got {os.environ.get('BENCH_DATABASES')!r}")


def main() -> int:
    check_settings()
    OUT.mkdir(parents=True, exist_ok=True)
    wrk = loadgen.ensure_wrk()
    print(f"Load generator: {wrk or 'Python threads (wrk not installable)'}")
    ceiling, hello_start = measure_ceiling(wrk)
    print(f"Ceiling: {ceiling.rps:,.0f} req/s")
    results = []
    for database in DATABASES:
        if database == "sqlite":
            results.append(bench_database("SQLite", sqlite_url(), wrk, ceiling.rps))
        elif database == "postgresql":
            url = postgres_url()
            if url:
                results.append(bench_database("PostgreSQL", url, wrk, ceiling.rps))
    # Measured again at the end: on a shared machine the ceiling drifts during the run. The
    # ratios use the mean of both; both are printed.
    again, _ = measure_ceiling(wrk)
    print(f"Ceiling again: {again.rps:,.0f} req/s")
    mean = (ceiling.rps + again.rps) / 2
    for result in results:
        for row in result["rows"]:
            row["ratio"] = row["rps"] / mean if mean else 0.0
    ceiling.notes.append(f"first {ceiling.rps:,.0f} req/s, last {again.rps:,.0f} req/s")
    ceiling.requests += again.requests
    ceiling.seconds += again.seconds
    print_report(ceiling, hello_start, results)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (OUT / f"bench-{SIZE}-{stamp}.json").write_text(json.dumps(
        {"size": SIZE, "seconds": SECONDS, "connections": CONNECTIONS,
         "ceiling": asdict(ceiling), "results": results}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
