"""Bench: the staff's case list (/admin/cases) with 10,000 service cases.

    .venv/bin/python bench/cases_list.py [--cases 10000] [--requests 60] [--database-url URL]

In process, through Flask's test client on a throw-away SQLite file (or --database-url, an
empty database): builds the schema with the migrations, writes `--cases` cases (one message
each; a fifth assigned to the bench's member of staff, a third waiting on the customer, some
closed, due times spread so that some are overdue) for 500 members, logs in as staff and
times `--requests` GETs of each queue page after two warm-up requests. Prints the median and
the 90th percentile per page. Not a test: figures only (issue 20; the issue asks for the
case list's median page time with 10,000 cases).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = ("/admin/cases?queue=all", "/admin/cases?queue=mine", "/admin/cases?queue=unassigned",
         "/admin/cases?queue=overdue", "/admin/cases?queue=all&status=open&priority=high")


def _config(url: str):
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        PAGE_CACHE_SECONDS = 0
        FRONT_DOOR = False
        DASHBOARD_CACHE_SECONDS = 60

    return BenchConfig


def _seed(n: int) -> None:
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from app.core.db import utcnow
    from app.core.extensions import db
    from app.membership.models import Member, Role
    from app.support.cases import due_time
    from app.support.models import (
        CaseMessage,
        CasePriority,
        CaseSource,
        CaseStatus,
        CaseType,
        Direction,
        SupportCase,
    )

    password = generate_password_hash("bench password 1")
    staff = Member(email="staff@bench.test", name="Bench Staff", role=Role.STAFF,
                   password_hash=password, member_no="B-STAFF", email_verified_at=utcnow())
    db.session.add(staff)
    members = [Member(email=f"m{i}@bench.test", name=f"Member {i}", role=Role.MEMBER,
                      password_hash=password, member_no=f"B-{i:06d}") for i in range(500)]
    db.session.add_all(members)
    db.session.flush()
    rng = random.Random(20)
    now = utcnow()
    statuses = [CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING, CaseStatus.WAITING,
                CaseStatus.RESOLVED, CaseStatus.CLOSED]
    rows, messages = [], []
    for i in range(n):
        created = now - timedelta(hours=rng.uniform(0, 24 * 120))
        priority = rng.choice(list(CasePriority))
        status = rng.choice(statuses)
        rows.append({
            "member_id": members[i % len(members)].id, "subject": f"Case subject {i}",
            "case_type": rng.choice(list(CaseType)), "priority": priority, "status": status,
            "source": CaseSource.MEMBER,
            "assignee_id": staff.id if i % 5 == 0 else None,
            "created_at": created, "updated_at": created, "due_at": due_time(created, priority),
            "first_response_at": created + timedelta(hours=rng.uniform(0.2, 30))
            if status is not CaseStatus.NEW else None,
            "resolved_at": created + timedelta(hours=rng.uniform(1, 80))
            if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) else None,
        })
    db.session.execute(sa.insert(SupportCase), rows)
    ids = db.session.scalars(sa.select(SupportCase.id)).all()
    for case_id in ids:
        messages.append({"case_id": case_id, "direction": Direction.IN, "body": "Hello",
                         "created_at": now})
    db.session.execute(sa.insert(CaseMessage), messages)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from app import create_app
    from app.core.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'cases.db'}"
        app = create_app(_config(url))
        with app.app_context():
            upgrade()
            start = time.perf_counter()
            _seed(args.cases)
            print(f"{args.cases:,} cases written in {time.perf_counter() - start:.1f} s "
                  f"({db.engine.dialect.name})")
        client = app.test_client()
        response = client.post("/account/login", data={"email": "staff@bench.test",
                                                        "password": "bench password 1"})
        assert response.status_code == 302, response.status_code
        print(f"{'page':55} {'median ms':>10} {'p90 ms':>8}")
        for page in PAGES:
            for _ in range(2):
                assert client.get(page).status_code == 200
            took = []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get(page)
                took.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            took.sort()
            print(f"{page:55} {statistics.median(took):10.1f} "
                  f"{took[int(len(took) * 0.9) - 1]:8.1f}")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
