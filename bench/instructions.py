"""Instructions per request, counted by valgrind's callgrind: the same figure on a noisy machine.

    .venv/bin/python -m bench.instructions [-n N] [--cache on|off] [--member EMAIL] [--lang zh_Hans]
                                           PATH [DIR ...]

For each checkout DIR (default: this one; an older one need not hold this file), runs that
tree's app in one process under `valgrind --tool=callgrind` with instrumentation off, warms
PATH up, switches instrumentation on (`callgrind_control -i on`) for N requests (default 60)
of PATH through the app's WSGI callable, and prints the instructions per request: the
start-up, the warm-up and the exit are not counted. With several DIRs it prints each one's
ratio to the first.

A shared machine's wall-clock figures of one request drift by a fifth between runs; the
instruction count of the same code, data and inputs does not (within about 0.5 %), so two
trees can be compared one after the other, and a change of a few per cent is visible. It
counts work, not time: a change that saves instructions but waits more (a lock, a round trip
to PostgreSQL) shows only in the timed benchmarks.

A PATH with `{n}` in it (`/book/{n}`) asks for a new page each time: `{n}` counts up from 1
while warming up and from 1000 while counting, so that each counted request is the first view
of its page (with the page cache on, a miss of every cache a first view misses).

PATH `order` counts one purchase as `make bench`'s checkout row makes it (`POST /cart/add` of
the checkout book, `POST /checkout`, `GET` of the order page), by the `--member` (who must be
given; `bench-7@bookstation.test` is one `make bench` makes), and prints the instructions of
each of the three steps as well as of the whole order: N orders are counted.

The data set is bench/run.py's (BENCH_SIZE=demo for the demo set; BENCH_DATABASE_URL for
another database), as bench/mix_profile.py opens it; `--member` logs in as a browser does
(bench-mix-N members exist once `make bench-mix` has run); `--cache off` sets
PAGE_CACHE_SECONDS=0 (the path of a page that misses). Needs Debian's valgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_FROM, COUNT_FROM = 1, 1000  # where "{n}" in PATH counts from, warming up, then counted


ORDER_STEPS = ("add to cart", "checkout", "order page")


def _instrument(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                   check=True, capture_output=True)


def _orders(app, client, args: argparse.Namespace) -> None:
    """The `order` PATH: N purchases, each step counted on its own (callgrind's total so far
    is dumped after each step, and the parent takes the differences)."""
    from bench import mix_profile

    book = mix_profile._checkout_book(app)
    token = mix_profile._token(client.get(f"/book/{book}").get_data(as_text=True))
    steps = (
        lambda: client.post("/cart/add", data={"book_id": book, "quantity": 1,
                                               "csrf_token": token}),
        lambda: client.post("/checkout", data={**mix_profile.ADDRESS, "csrf_token": token}),
    )

    def one_order(count: bool) -> None:
        for k, step in enumerate(steps):
            answer = step()
            if answer.status_code not in (302, 303):
                raise SystemExit(f"{ORDER_STEPS[k]} answers {answer.status_code}")
            if count:
                _dump(k)
        answer = client.get(answer.headers["Location"])
        if answer.status_code != 200:
            raise SystemExit(f"the order page answers {answer.status_code}")
        if count:
            _dump(2)

    for _ in range(10):
        one_order(count=False)
    _instrument(True)
    for _ in range(args.n):
        one_order(count=True)
    os._exit(0)


def _dump(step: int) -> None:
    """Callgrind's counts so far, into the dump file of `step`, then zeroed."""
    subprocess.run(["callgrind_control", "--dump=step" + str(step), str(os.getpid())],
                   check=True, capture_output=True)


def _child(args: argparse.Namespace) -> None:
    """Runs inside valgrind: the app, the warm-up, then the counted requests."""
    from bench import mix_profile

    app = mix_profile._app()
    from werkzeug.test import Client

    client = mix_profile._logged_in(app, args.member) if args.member else Client(app)
    if args.lang:
        client.set_cookie("lang", args.lang)
    if args.path == "order":
        _orders(app, client, args)
    for n in range(20):
        status = client.get(args.path.format(n=WARM_FROM + n)).status_code
    if status >= 500:
        raise SystemExit(f"{args.path} answers {status}")
    _instrument(True)
    for n in range(args.n):
        client.get(args.path.format(n=COUNT_FROM + n))
    os._exit(0)  # the interpreter's exit would be counted


def _count(tree: Path, args: argparse.Namespace) -> dict[str, int]:
    """Instructions a request (`{"request": n}`), or for `order` a step of an order and the
    whole order."""
    env = dict(os.environ, BENCH_INSTRUCTIONS_CHILD="1")
    if args.cache == "off":
        env["PAGE_CACHE_SECONDS"] = "0"
    with tempfile.TemporaryDirectory() as dumps:
        out = Path(dumps) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={out if args.path == 'order' else '/dev/null'}",
                   sys.executable, str(Path(__file__).resolve()),
                   "-n", str(args.n), "--cache", args.cache, args.path]
        if args.member:
            command += ["--member", args.member]
        if args.lang:
            command += ["--lang", args.lang]
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"{tree}: valgrind failed\n{done.stderr[-2000:]}")
        if args.path != "order":
            return {"request": int(found.group(1)) // args.n}
        steps = dict.fromkeys(ORDER_STEPS, 0)
        for dump in Path(dumps).glob("callgrind.out*"):
            text = dump.read_text(errors="replace")
            step = re.search(r"^desc: Trigger: .*\bstep(\d)$", text, re.M)
            total = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
            if step and total:
                steps[ORDER_STEPS[int(step.group(1))]] += int(total.group(1))
    counts = {name: total // args.n for name, total in steps.items()}
    counts["one order"] = sum(counts.values())
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=60, help="requests counted (default 60)")
    parser.add_argument("--cache", choices=("on", "off"), default="on")
    parser.add_argument("--member", help="log in as this member's email first")
    parser.add_argument("--lang", help="the lang cookie (en, zh_Hans)")
    parser.add_argument("path")
    parser.add_argument("trees", nargs="*", type=Path)
    args = parser.parse_args()
    if os.environ.get("BENCH_INSTRUCTIONS_CHILD"):  # in valgrind, in the tree measured
        sys.path.insert(0, str(Path.cwd()))
        _child(args)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    first: dict[str, int] | None = None
    for tree in args.trees or [ROOT]:
        counts = _count(tree.resolve(), args)
        who = "member" if args.member else "visitor"
        for name, count in counts.items():
            ratio = "" if first is None else f"  ({count / first[name]:.3f} of the first)"
            what = (f"{args.path} ({who}, cache {args.cache}): {count:,} instructions a request"
                    if name == "request" else f"an order's {name}: {count:,} instructions")
            print(f"{tree}: {what}{ratio}", flush=True)
        first = first or counts
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
