"""A customer search's page and count come from one query, and read as Flask-SQLAlchemy's
pagination does, past the last page too."""

from __future__ import annotations

from app.core.extensions import db
from app.crm import customers
from app.crm.customers import CustomerFilters
from tests.factories import make_member


def test_a_searched_page_counts_its_matches_like_the_unsearched_list(ctx):
    for n in range(23):
        make_member(name=f"Paging Person {n:02d}")
    make_member(name="Somebody Else")
    db.session.commit()

    second = customers.list_customers(CustomerFilters(q="Paging Person"), page=2, per_page=10)
    last = customers.list_customers(CustomerFilters(q="Paging Person"), page=3, per_page=10)
    beyond = customers.list_customers(CustomerFilters(q="Paging Person"), page=9, per_page=10)
    everyone = customers.list_customers(CustomerFilters(), page=1, per_page=10)

    assert [m.name for m in second.items] == [f"Paging Person {n:02d}" for n in range(10, 20)]
    assert (second.total, second.pages, second.prev_num, second.next_num) == (23, 3, 1, 3)
    assert (len(last.items), last.has_next) == (3, False)
    assert (beyond.items, beyond.total, beyond.pages) == ([], 23, 3)
    assert (everyone.total, everyone.pages) == (24, 3)
    nobody = customers.list_customers(CustomerFilters(q="Nobody Matches"), per_page=10)
    assert (nobody.items, nobody.total, nobody.pages, nobody.has_next) == ([], 0, 0, False)
