"""In-process A/B of the cache-miss pages: two checkouts of the shop, one sitting, interleaved.

    .venv/bin/python -m bench.ab_pages DIR_A DIR_B [ROUNDS]

Each checkout runs in its own process (its own `.venv/bin/python`, its own code) against the
same bench data set (BENCH_DATABASE_URL, default the SQLite demo set bench/run.py seeds:
instance/bench/demo.db of this checkout), with the page cache off (BENCH_AB_CACHE=on: on, so
that every request after the first is a hit). The two take turns, page by
page, AB then BA, for ROUNDS rounds of 20 requests each, and the report gives each page's median
milliseconds per request in A and B and the median of the per-round ratios B/A. Turn-taking at
this grain cancels most of a shared machine's drift; the ratio is the figure to quote. Nothing
is asserted.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [("visitor", "/"), ("visitor", "/category/classics"), ("visitor", "/search?q=dragon"),
         ("visitor", "/search?q=love&page=2"), ("visitor", "/book/5"), ("member", "/book/5"),
         ("member", "/cart"), ("member", "/category/classics"), ("zh", "/category/classics"),
         ("zh", "/book/5")]
REQUESTS = 20

WORKER = r"""
import os, re, sys, time
sys.path.insert(0, os.getcwd())
from run import app
from werkzeug.test import Client
clients = {"visitor": Client(app), "member": Client(app), "zh": Client(app)}
clients["zh"].set_cookie("lang", "zh_Hans")
member = clients["member"]
page = member.get("/account/login").get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
answer = member.post("/account/login", data={"csrf_token": token, "password": "bench-password-1",
                                              "email": "bench-0@bookstation.test"})
assert answer.status_code in (302, 303), answer.status_code
print("ready", flush=True)
for line in sys.stdin:
    who, path, n = line.split()
    client = clients[who]
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    began = time.perf_counter()
    for _ in range(int(n)):
        client.get(path)
    print((time.perf_counter() - began) / int(n) * 1000, flush=True)
"""


def start(checkout: str) -> subprocess.Popen:
    env = {**os.environ, "BOOKSTATION_ENV": "production", "BOOKSTATION_SERVE_ONLY": "1",
           "SECRET_KEY": "bench-secret-key",
           "PAGE_CACHE_SECONDS": "30" if os.environ.get("BENCH_AB_CACHE") == "on" else "0",
           "SESSION_COOKIE_SECURE": "0", "LOG_LEVEL": "warning",
           "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL",
                                          f"sqlite:///{ROOT / 'instance' / 'bench' / 'demo.db'}")}
    return launch(checkout, WORKER, env)


def launch(checkout: str, code: str, env: dict) -> subprocess.Popen:
    """`code` run by the checkout's own Python in its directory (one machine: no Redis), once
    it has said "ready"."""
    env = dict(env)
    env.pop("REDIS_URL", None)
    process = subprocess.Popen([f"{checkout}/.venv/bin/python", "-c", code], cwd=checkout,
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    if process.stdout.readline().strip() != "ready":
        raise SystemExit(f"{checkout}: the shop did not start")
    return process


def timed(process: subprocess.Popen, who: str, path: str) -> float:
    process.stdin.write(f"{who} {path} {REQUESTS}\n")
    process.stdin.flush()
    return float(process.stdout.readline())


def main() -> int:
    a_dir, b_dir = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    a, b = start(a_dir), start(b_dir)
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for n in range(rounds):
        for who, path in PAGES:
            if n % 2 == 0:
                ta = timed(a, who, path)
                tb = timed(b, who, path)
            else:
                tb = timed(b, who, path)
                ta = timed(a, who, path)
            samples.setdefault((who, path), []).append((ta, tb))
    cache = "on (every request a hit)" if os.environ.get("BENCH_AB_CACHE") == "on" else "off"
    print(f"A = {a_dir}\nB = {b_dir}\n{rounds} rounds of {REQUESTS} requests, page cache {cache}")
    print(f"  {'reader':<8} {'page':<24} {'A ms':>7} {'B ms':>7} {'B/A':>6}")
    for (who, path), pairs in samples.items():
        ms_a, ms_b, ratio = medians(pairs)
        print(f"  {who:<8} {path:<24} {ms_a:7.2f} {ms_b:7.2f} {ratio:6.2f}")
    stop(a, b)
    return 0


def medians(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """The median of A, of B, and of the per-round ratios B/A: the figure to quote."""
    return (statistics.median(x for x, _ in pairs), statistics.median(y for _, y in pairs),
            statistics.median(y / x for x, y in pairs))


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.stdin.close()
        process.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
