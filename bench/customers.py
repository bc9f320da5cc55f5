"""Customer search timings (issue 4): the admin customer list on a seeded database.

    DATABASE_URL=sqlite:////tmp/large.db .venv/bin/python -m bench.customers

Times each search as the list page runs it (the count, the page of 25 and the page's tags),
median of REPEAT runs after one warm-up, and then the whole page through the test client
(query string, form, template) for a few of them. Needs the customer columns and indexes
(app.catalog.search_index.install_members) and a seed (`flask seed --size large` for 100,000
members). Prints a table; nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date

import sqlalchemy as sa

from app import create_app
from app.core.extensions import db
from app.crm import customers
from app.crm.customers import CustomerFilters
from app.models import Member, Tag
from config import config_from_env

REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))


def _cases() -> list[tuple[str, CustomerFilters]]:
    sample = db.session.scalar(sa.select(Member).where(Member.phone.is_not(None))
                               .order_by(Member.id.desc()).limit(1))
    tag = db.session.scalar(sa.select(Tag).limit(1))
    surname = sample.name.split()[-1] if " " in sample.name else sample.name[:1]
    return [
        ("no search, by name", CustomerFilters()),
        ("no search, lifetime spend", CustomerFilters(sort="spend")),
        ("no search, last order", CustomerFilters(sort="last_order")),
        ("no search, newest", CustomerFilters(sort="joined")),
        ("full name", CustomerFilters(q=sample.name)),
        ("name part (3+ chars)", CustomerFilters(q=sample.name[1:4])),
        ("common surname", CustomerFilters(q=surname)),
        ("common first name, john", CustomerFilters(q="john")),
        ("two letters", CustomerFilters(q="li")),
        ("exact email", CustomerFilters(q=sample.email)),
        ("email prefix", CustomerFilters(q=sample.email[:6])),
        ("member number", CustomerFilters(q=sample.member_no)),
        ("phone, last 8 digits", CustomerFilters(q=sample.phone[-9:])),
        ("phone as typed", CustomerFilters(q=sample.phone)),
        ("tier gold + last order 2026", CustomerFilters(
            tier="gold", last_order_from=date(2026, 1, 1), sort="spend")),
        ("has open demand", CustomerFilters(open_demand=True)),
        ("opted out, any", CustomerFilters(opted_out="any")),
        ("tag", CustomerFilters(tag_id=tag.id if tag else None)),
        ("joined 2025 + name part", CustomerFilters(
            q=sample.name[:3], joined_from=date(2025, 1, 1), joined_to=date(2025, 12, 31))),
    ]


def _run(filters: CustomerFilters) -> tuple[float, int]:
    db.session.expire_all()
    began = time.perf_counter()
    page = customers.list_customers(filters)
    customers.tags_of([m.id for m in page.items])
    return (time.perf_counter() - began) * 1000, page.total


def main() -> None:
    app = create_app(config_from_env())
    with app.app_context():
        members = db.session.scalar(sa.select(sa.func.count(Member.id)))
        print(f"{db.engine.dialect.name}: {members:,} members; median of {REPEAT} runs (ms)")
        print(f"{'case':34} {'matches':>9} {'median':>8} {'max':>8}")
        for label, filters in _cases():
            _run(filters)
            times = []
            for _ in range(REPEAT):
                elapsed, total = _run(filters)
                times.append(elapsed)
            print(f"{label:34} {total:>9,} {statistics.median(times):>8.1f} {max(times):>8.1f}")
            db.session.rollback()


if __name__ == "__main__":
    main()
