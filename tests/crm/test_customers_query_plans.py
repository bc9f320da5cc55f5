"""The customer list's searches and sorts are index lookups (EXPLAIN QUERY PLAN on SQLite),
which is what keeps a page fast with 100,000 members (figures in bench/README.md)."""

from __future__ import annotations

import re

from app.core.extensions import db
from app.crm import customers
from app.crm.customers import CustomerFilters
from tests.factories import make_member
from tests.helpers import plans_of


def _people(app) -> None:
    with app.app_context():
        for n in range(30):
            make_member(name=f"Person {n}", phone=f"+86 138 0000 {n:04d}")
        db.session.commit()


def _page_plan(app, **filters) -> str:
    plans = plans_of(app, lambda: customers.list_customers(CustomerFilters(**filters)))
    return "\n".join(plans)


def test_each_kind_of_search_reads_its_index(app):
    _people(app)
    assert "member_fts VIRTUAL TABLE" in _page_plan(app, q="erson 1")
    # The email's unique index (SQLite numbers its automatic indexes by creation order).
    assert re.search(r"sqlite_autoindex_member_\d+ \(email>\? AND email<\?\)",
                     _page_plan(app, q="member1@example"))
    assert "ix_member_phone_key (phone_key>? AND phone_key<?)" in _page_plan(app, q="0000 0012")
    assert "(member_no>? AND member_no<?)" in _page_plan(app, q="M2026-000012")


def test_each_sort_walks_its_index_without_sorting_the_table(app):
    _people(app)
    for sort, index in (("name", "ix_member_name"), ("joined", "ix_member_joined_at"),
                        ("last_order", "ix_member_last_order_at"),
                        ("spend", "ix_member_lifetime_spend")):
        plans = plans_of(app, lambda s=sort: customers.list_customers(CustomerFilters(sort=s)))
        page = plans[0]  # the page, then its count
        assert f"SCAN member USING INDEX {index}" in page, (sort, page)
        assert "TEMP B-TREE" not in page, (sort, page)
