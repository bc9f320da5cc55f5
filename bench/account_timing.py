"""Bench: do registration and forgot-password tell who is a member, by their answer or their time?

    .venv/bin/python bench/account_timing.py [--pairs 400] [--database-url URL] [--constant-hash]

In process, through Flask's test client on a throw-away SQLite file (or --database-url): one
member exists; then, for `--pairs` interleaved pairs (the order inside each pair drawn at
random, so drift on a shared machine hits both sides alike), it times

- `POST /account/forgot` with the member's address and with an unknown one;
- `POST /account/register` with the member's address and with a new one each time,

each from a fresh client (no cookies). It prints the median time of each side, the median of
the paired differences (existing − other) with a 95 % bootstrap interval, and whether the two
sides answered with the same status, redirect and page text. Not a test: figures only
(issue 17, item 5; bench/README.md has the results).

The per-address mail cap (ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR) is lifted here: the member's
address is typed hundreds of times, and capped requests (which do the same work on both sides)
would otherwise be what is measured. `--constant-hash` replaces the password hash (200-400 ms
of scrypt, jittering by tens of ms) with a constant, to compare the rest of the work.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "a long enough password 1"


def _config(url: str):
    from config import Config, TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        PASSWORD_HASH_METHOD = Config.PASSWORD_HASH_METHOD  # the shop's hash, not the tests'
        PAGE_CACHE_SECONDS = 0
        FRONT_DOOR = False
        ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR = 10**9

    return BenchConfig


def _answer(response) -> tuple:
    """What a visitor can see: status, where it sends them, and the page text without the
    parts that differ per request anyway (addresses typed, CSRF tokens)."""
    text = response.get_data(as_text=True)
    text = re.sub(r"[\w.+-]+@example\.test", "<address>", text)
    text = re.sub(r'name="csrf_token"[^>]*>', "", text)
    return response.status_code, response.headers.get("Location"), text


def _bootstrap(diffs: list[float], rounds: int = 2000) -> tuple[float, float]:
    rng = random.Random(7)
    medians = sorted(statistics.median(rng.choices(diffs, k=len(diffs))) for _ in range(rounds))
    return medians[int(rounds * 0.025)], medians[int(rounds * 0.975)]


def _pairs(app, n: int, existing, other) -> dict:
    times = {"existing": [], "other": []}
    answers = {"existing": set(), "other": set()}
    diffs = []
    rng = random.Random(17)
    for i in range(n):
        order = [("existing", existing), ("other", other)]
        rng.shuffle(order)
        took = {}
        for side, post in order:
            client = app.test_client()
            start = time.perf_counter()
            response = post(client, i)
            took[side] = time.perf_counter() - start
            if response.status_code == 302:  # follow to the page the visitor then sees
                response = client.get(response.headers["Location"])
            answers[side].add(_answer(response)[:1] + _answer(response)[2:])
        if i >= 20:  # warm-up pairs are not counted
            for side in took:
                times[side].append(took[side] * 1000)
            diffs.append((took["existing"] - took["other"]) * 1000)
    low, high = _bootstrap(diffs)
    return {
        "existing_ms": statistics.median(times["existing"]),
        "other_ms": statistics.median(times["other"]),
        "diff_ms": statistics.median(diffs),
        "ci": (low, high),
        "same_answer": answers["existing"] == answers["other"],
        "pairs": len(diffs),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--constant-hash", action="store_true",
                        help="replace the password hash with a constant (the rest of the work)")
    args = parser.parse_args()

    from app import create_app
    from app.core.extensions import db
    from app.membership import members

    if args.constant_hash:
        constant = members.generate_password_hash(PASSWORD)
        members.hash_password = lambda password: constant
    tmp = Path(tempfile.mkdtemp(prefix="bench-account-"))
    app = create_app(_config(args.database_url or f"sqlite:///{tmp / 'account.db'}"))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        members.create_member("member@example.test", PASSWORD, "Existing Member")
        db.session.commit()

    def forgot(address):
        return lambda client, i: client.post("/account/forgot", data={"email": address(i)})

    def join(address):
        return lambda client, i: client.post("/account/register", data={
            "email": address(i), "name": "Someone", "password": PASSWORD, "confirm": PASSWORD})

    runs = {
        "forgot-password": _pairs(app, args.pairs + 20, forgot(lambda i: "member@example.test"),
                                  forgot(lambda i: f"nobody{i}@example.test")),
        "register": _pairs(app, args.pairs + 20, join(lambda i: "member@example.test"),
                           join(lambda i: f"newcomer{i}@example.test")),
    }
    print(f"{'form':16} {'pairs':>5} {'existing ms':>12} {'other ms':>9} "
          f"{'median diff ms':>15} {'95% CI':>17}  same answer")
    for name, r in runs.items():
        low, high = r["ci"]
        print(f"{name:16} {r['pairs']:>5} {r['existing_ms']:>12.2f} {r['other_ms']:>9.2f} "
              f"{r['diff_ms']:>+15.3f} {f'[{low:+.3f}, {high:+.3f}]':>17}  "
              f"{'yes' if r['same_answer'] else 'NO'}")


if __name__ == "__main__":
    main()
