"""Members who bought this also bought (issue 5): support, confidence and lift, checked on a
small history computed by hand."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from app.analytics import associations
from app.core.db import utcnow
from app.core.extensions import db
from app.models import BookAssociation, OrderStatus
from tests.factories import make_book, make_member, make_placed_order
from tests.helpers import counting_statements


def baskets(*sets):
    return [np.array(sorted(s), dtype=np.int64) for s in sets]


# Five members: {A,B,C} {A,B} {A,C} {B} {D}. N = 5; n(A) = 3, n(B) = 3, n(C) = 2, n(D) = 1;
# both: AB = 2, AC = 2, BC = 1 (below the minimum count of 2, dropped).
A, B, C, D = 1, 2, 3, 4
HISTORY = baskets({A, B, C}, {A, B}, {A, C}, {B}, {D})


def rules_by_pair():
    return {(r.book_id, r.other_book_id): r
            for r in associations.rules_from_baskets(HISTORY, min_count=2, top_k=6)}


def test_support_confidence_and_lift_match_the_hand_computation():
    rules = rules_by_pair()

    assert set(rules) == {(A, B), (B, A), (A, C), (C, A)}
    ab, ba, ac, ca = rules[(A, B)], rules[(B, A)], rules[(A, C)], rules[(C, A)]
    assert ab.both_count == 2 and ab.support == pytest.approx(2 / 5)
    assert ab.confidence == pytest.approx(2 / 3)          # 2 of A's 3 buyers bought B
    assert ab.lift == pytest.approx((2 / 3) / (3 / 5))     # = 10/9
    assert ba.confidence == pytest.approx(2 / 3) and ba.lift == pytest.approx(10 / 9)
    assert ac.confidence == pytest.approx(2 / 3) and ac.lift == pytest.approx(5 / 3)
    assert ca.confidence == pytest.approx(1.0)             # both of C's buyers bought A
    assert ca.lift == pytest.approx(1 / (3 / 5))


def test_rules_are_ranked_by_confidence_then_lift_and_cut_to_top_k():
    ranked = associations.rules_from_baskets(HISTORY, min_count=2, top_k=6)
    from_a = [r.other_book_id for r in ranked if r.book_id == A]
    assert from_a == [C, B]  # equal confidence 2/3; C has the higher lift (5/3 > 10/9)

    top1 = associations.rules_from_baskets(HISTORY, min_count=2, top_k=1)
    assert [(r.book_id, r.other_book_id) for r in top1 if r.book_id == A] == [(A, C)]


def test_a_pair_no_likelier_together_than_apart_is_not_a_rule():
    # Everybody bought X, so buying Y says nothing about X: lift exactly 1.
    rules = associations.rules_from_baskets(baskets({1, 2}, {1, 2}, {1, 3}, {1, 3}),
                                            min_count=2, top_k=6)
    assert rules == []


def test_no_history_or_single_book_baskets_give_no_rules():
    assert associations.rules_from_baskets([], min_count=1, top_k=6) == []
    assert associations.rules_from_baskets(baskets({1}, {2}), min_count=1, top_k=6) == []


def _paid(member, books, status=OrderStatus.PAID, days_ago=5):
    return make_placed_order(member, lines=[(b, 1) for b in books], status=status,
                             placed_at=utcnow() - timedelta(days=days_ago))


def test_compute_uses_paid_orders_only_and_fills_the_snapshot(ctx):
    a, b, c = make_book(title="A"), make_book(title="B"), make_book(title="C")
    for _ in range(2):
        _paid(make_member(), [a, b], status=OrderStatus.DELIVERED)
    m = make_member()
    _paid(m, [a], status=OrderStatus.SHIPPED)
    _paid(m, [c], status=OrderStatus.CANCELLED)  # never counts
    _paid(make_member(), [a, c], status=OrderStatus.PLACED)  # unpaid: does not count
    _paid(make_member(), [c])
    db.session.commit()

    report = associations.compute()
    db.session.commit()

    # Buyers: 4 (the unpaid member is not one); n(A) = 3, n(B) = 2, both = 2.
    assert report.members == 4
    rows = {(r.book_id, r.other_book_id): r for r in db.session.scalars(
        sa.select(BookAssociation))}
    assert set(rows) == {(a.id, b.id), (b.id, a.id)}
    assert rows[(a.id, b.id)].confidence == pytest.approx(2 / 3)
    assert rows[(a.id, b.id)].lift == pytest.approx((2 / 3) / (2 / 4))
    assert rows[(b.id, a.id)].confidence == pytest.approx(1.0)
    assert rows[(b.id, a.id)].rank == 1


def test_a_members_many_orders_count_once_and_the_basket_is_capped(ctx, app_config):
    ctx.config["ASSOC_BASKET_CAP"] = 2
    books = [make_book() for _ in range(3)]
    member = make_member()
    _paid(member, [books[0]], days_ago=30)
    _paid(member, [books[1]], days_ago=20)
    _paid(member, [books[2], books[2]], days_ago=10)
    db.session.commit()

    [basket] = associations.member_baskets()
    assert sorted(basket.tolist()) == sorted([books[2].id, books[1].id])  # the 2 newest


def test_also_bought_lists_books_on_sale_only(ctx):
    a, b, gone = make_book(), make_book(), make_book(is_active=False)
    for _ in range(2):
        _paid(make_member(), [a, b, gone])
    _paid(make_member(), [make_book()])
    db.session.commit()
    associations.compute()
    db.session.commit()

    assert [shown.book_id for shown in associations.compute_also_bought_shown(a.id)] == [b.id]


def test_the_book_page_shows_what_buyers_also_bought(app, client):
    with app.app_context():
        a, b = make_book(title="Anchor"), make_book(title="Buoy")
        for _ in range(2):
            _paid(make_member(), [a, b])
        _paid(make_member(), [make_book()])
        associations.compute()
        db.session.commit()
        a_id = a.id
    page = client.get(f"/book/{a_id}").get_data(as_text=True)
    assert "Members who bought this also bought" in page and "Buoy" in page


def test_the_command_recomputes_every_feedback_snapshot(app, runner):
    with app.app_context():
        a, b = make_book(), make_book()
        for _ in range(2):
            _paid(make_member(), [a, b])
        _paid(make_member(), [make_book()])
        db.session.commit()
    result = runner.invoke(args=["analytics", "feedback"])
    assert result.exit_code == 0, result.output
    assert "2 association rules from 3 buying members" in result.output
    result = runner.invoke(args=["analytics", "associations"])
    assert result.exit_code == 0 and "2 association rules" in result.output


def test_a_book_with_no_rule_from_it_reads_no_also_bought_list(app, client):
    """The book's own query says whether the snapshot has rules from it: a book with none runs
    no association query; one with rules shows them."""
    with app.app_context():
        a, b, alone = make_book(title="Anchor"), make_book(title="Buoy"), make_book(title="Alone")
        for _ in range(2):
            _paid(make_member(), [a, b])
        _paid(make_member(), [alone])
        associations.compute()
        db.session.commit()
        a_id, alone_id = a.id, alone.id
    app.config["PAGE_CACHE_SECONDS"] = 0
    client.get("/")  # warm what every page keeps (the header's categories)

    with counting_statements(app) as for_alone:
        alone_page = client.get(f"/book/{alone_id}").get_data(as_text=True)
    with counting_statements(app) as for_anchor:
        anchor_page = client.get(f"/book/{a_id}").get_data(as_text=True)

    assert not [s for s in for_alone if "ORDER BY book_association.rank" in s]
    assert "Members who bought this also bought" not in alone_page
    assert [s for s in for_anchor if "ORDER BY book_association.rank" in s], for_anchor
    assert "Members who bought this also bought" in anchor_page and "Buoy" in anchor_page
