"""CPU per request in the gunicorn workers: what each cache-miss page costs above the floor.

    .venv/bin/python -m bench.worker_cpu [sqlite|postgresql]

Serves bench/hello.py, then the shop with the page cache off (PAGE_CACHE_SECONDS=0), under
gunicorn.conf.py as `make bench` does, and for each request below runs wrk (8 connections,
BENCH_SECONDS, after a 1 s warm-up) while reading the workers' CPU time from
/proc/<pid>/stat. Prints, per request: req/s, its share of the hello's req/s, and the
workers' CPU per request (user + system) in ms, with its ratio to the hello's and to
`/healthz`'s, and the CPU per request of this machine's PostgreSQL processes (its server and
backends: their work for the shop's statements when the shop runs on PostgreSQL, about
nothing on SQLite).

- `/` of bench/hello.py: the server's own work (gunicorn's parsing and writing) and Flask's
  least;
- `/healthz`: the shop's floor, a request through every hook and middleware and one
  `SELECT 1` through the session; nothing rendered;
- the cache-miss rows of `make bench` (category, search, book as a visitor and as a member,
  the member's cart).

A share of the ceiling counts the whole machine (the workers, wrk and the kernel share two
cores); the workers' CPU per request counts what the shop's code costs, and is steadier on a
noisy machine. The data set, the bench accounts and the cart are bench/run.py's
(BENCH_SIZE=demo for the demo set). Nothing is asserted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench import loadgen
from bench import run as base
from bench.checkout_row import _cpu_seconds, _workers


def _postgres_cpu() -> float:
    """CPU seconds of every `postgres` process on this machine so far (the server and its
    backends; one that ended during a row is missed, as the shop's pooled ones do not)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += _cpu_seconds(int(entry.name))
            except OSError:
                pass  # it ended meanwhile
    return total


def _measure(server: base.Server, wrk: str, path: str, cookie: str | None
             ) -> tuple[float, float, float]:
    """(req/s, the workers' CPU ms per request, PostgreSQL's) of `path` on a started
    server."""
    workers = _workers(server.process.pid, int(server.env["WEB_CONCURRENCY"]))
    loadgen.wrk_get(wrk, server.port, path, base.WARMUP_SECONDS, base.CONNECTIONS, cookie)
    before, database_before = sum(_cpu_seconds(pid) for pid in workers), _postgres_cpu()
    result = loadgen.wrk_get(wrk, server.port, path, base.SECONDS, base.CONNECTIONS, cookie)
    spent = sum(_cpu_seconds(pid) for pid in workers) - before
    database = _postgres_cpu() - database_before
    base.drain(server.port)
    requests = max(1, result.requests)
    return result.rps, 1000 * spent / requests, 1000 * database / requests


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    url = base.sqlite_url() if which == "sqlite" else base.postgres_url()
    if url is None:
        return 1
    wrk = loadgen.ensure_wrk()
    if wrk is None:
        print("wrk is needed (apt-get install wrk)")
        return 1
    info = base.prepare(url)
    figures: list[tuple[str, float, float, float]] = []
    hello = base.Server("bench.hello:app", base.server_env(None)).start()
    try:
        figures.append(("hello", *_measure(hello, wrk, "/", None)))
    finally:
        hello.stop()
    server = base.Server("run:app", {**base.server_env(url), "PAGE_CACHE_SECONDS": "0"}).start()
    try:
        member = loadgen.Visitor(server.port)
        member.log_in(info["members_emails"][0], base.BENCH_PASSWORD)
        cookie = member.cookie_header()
        rows = [("healthz", "/healthz", None),
                ("category", f"/category/{info['category']}", None),
                ("search", f"/search?q={base.SEARCH_QUERY}", None),
                ("book", f"/book/{info['book_id']}", None),
                ("book member", f"/book/{info['book_id']}", cookie),
                ("cart", "/cart", cookie)]
        for name, path, cookie in rows:
            figures.append((name, *_measure(server, wrk, path, cookie)))
    finally:
        server.stop()
    hello_rps, hello_cpu, _database = figures[0][1:]
    floor_cpu = figures[1][2]
    print(f"{which}, page cache off; {base.SECONDS} s a row, {base.CONNECTIONS} connections")
    print(f"  {'request':<14} {'req/s':>7} {'% hello':>8} {'CPU ms/req':>11} "
          f"{'x hello':>8} {'x healthz':>10} {'PostgreSQL ms/req':>18}")
    for name, rps, cpu, database in figures:
        print(f"  {name:<14} {rps:7.0f} {rps / hello_rps:8.1%} {cpu:11.3f} "
              f"{cpu / hello_cpu:8.2f} {cpu / floor_cpu:10.2f} {database:18.3f}")
    return 0


if __name__ == "__main__":
    os.chdir(base.ROOT)
    sys.exit(main())
