"""Bench: the analytics recompute and the analysis pages on a seeded database (issue 5).

    DATABASE_URL=sqlite:////tmp/large.db .venv/bin/flask --app run db upgrade
    DATABASE_URL=sqlite:////tmp/large.db .venv/bin/flask --app run seed --size large
    .venv/bin/python bench/analytics.py --database-url sqlite:////tmp/large.db [--runs 2]

Prints the full recompute time split by step (load, rfm, history, clv, write, prune), best and
worst of `--runs`, then each analysis page's render time as an admin (median of 5 requests after
one warm-up, in-process test client: the view, its queries and the template). Targets: recompute
under 60 s with 100,000 members and 1,000,000 order lines on SQLite; each page under 300 ms.
Not a test: figures only. It writes a snapshot into the database it is given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url (or DATABASE_URL) of a seeded database")
    os.environ["DATABASE_URL"] = args.database_url

    import sqlalchemy as sa

    from app import create_app
    from app.analytics import segments as seg
    from app.analytics import snapshots
    from app.core.extensions import db
    from app.models import Member, Order, OrderLine, Role
    from config import config_from_env

    app = create_app(config_from_env())
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        members = db.session.scalar(sa.select(sa.func.count()).where(Member.role == Role.MEMBER))
        orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
        lines = db.session.scalar(sa.select(sa.func.count()).select_from(OrderLine))
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        print(f"{members:,} members, {orders:,} orders, {lines:,} order lines")
        totals = []
        for n in range(1, args.runs + 1):
            started = time.perf_counter()
            run = snapshots.recompute()
            db.session.commit()
            wall = time.perf_counter() - started
            totals.append(wall)
            steps = ", ".join(f"{k} {v:.2f}s" for k, v in run.timings.items() if k != "total")
            print(f"recompute {n}: {wall:.2f} s wall ({steps}); "
                  f"{run.buyers:,} buyers; model {run.model.get('bgnbd')}")
        print(f"recompute: best {min(totals):.2f} s, worst {max(totals):.2f} s (target < 60 s)")
        admin = db.session.scalar(sa.select(Member).where(Member.role == Role.ADMIN).limit(1))
        token = admin.auth_token if admin else None
        biggest = db.session.scalar(
            sa.select(snapshots.MemberSnapshot.segment)
            .where(snapshots.MemberSnapshot.run_id == run.id)
            .group_by(snapshots.MemberSnapshot.segment)
            .order_by(sa.func.count().desc()).limit(1)) or seg.CHAMPIONS
    if token is None:
        print("no admin account: pages not measured (flask create-admin)")
        return
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    pages = ["/admin/analytics", "/admin/analytics/migration",
             f"/admin/analytics/segments/{biggest}",
             f"/admin/analytics/segments/{biggest}?page=40"]
    for path in pages:
        client.get(path)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        print(f"page {path}: {response.status_code}, median {statistics.median(times):.0f} ms, "
              f"max {max(times):.0f} ms (target < 300 ms)")


if __name__ == "__main__":
    main()
