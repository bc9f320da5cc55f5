"""The checkout row of `make bench` alone, with where the time went: the workers' CPU and the
machine's idle share while it ran.

    BENCH_SIZE=demo .venv/bin/python -m bench.checkout_row [sqlite|postgresql]

The same rig as bench/run.py's checkout row (gunicorn, 2 sync workers, eight members buying
the stocked best seller with wrk and bench/checkout.lua) on an already seeded data set (run
`make bench` once first). It also prints each worker's CPU time over the row as a share of the
row's time, and how much of the two cores sat idle: idle cores while orders queue mean the
workers wait (for the database's write lock, a row lock, a commit), not compute. Nothing is
asserted.
"""

from __future__ import annotations

import os
import sys
import time

from bench import loadgen
from bench import run as base


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _workers(master: int, expected: int) -> list[int]:
    """The master's worker processes, once all `expected` have started (at most 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        pids = [int(p) for p in open(f"/proc/{master}/task/{master}/children").read().split()]
        if len(pids) >= expected or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def _idle_and_total() -> tuple[int, int]:
    values = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return values[3] + values[4], sum(values)  # idle + iowait, all


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    url = base.sqlite_url() if which == "sqlite" else base.postgres_url()
    if url is None:
        return 1
    info = base.prepare(url)
    server = base.Server("run:app", base.server_env(url)).start()
    try:
        workers = _workers(server.process.pid, int(base.server_env(url)["WEB_CONCURRENCY"]))
        cpu_before = {pid: _cpu_seconds(pid) for pid in workers}
        idle_before, total_before = _idle_and_total()
        began = time.monotonic()
        result = base.measure_checkout(loadgen.ensure_wrk(), server.port, info)
        seconds = time.monotonic() - began
        idle_after, total_after = _idle_and_total()
        busy = [(_cpu_seconds(pid) - cpu_before[pid]) / seconds for pid in workers]
    finally:
        server.stop()
    idle = (idle_after - idle_before) / max(1, total_after - total_before)
    print(f"{which}: {result.rps:.1f} orders/s, p50 {result.p50_ms:.1f} ms, p99 "
          f"{result.p99_ms:.1f} ms; workers' CPU "
          + ", ".join(f"{b:.0%}" for b in busy)
          + f"; the machine idle {idle:.0%} (over {seconds:.1f} s, warm-up included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
