"""Personal recommendations (issue 5): from purchases and open demand through the association
snapshot; newcomers get best sellers of their favourite categories, or of the shop."""

from __future__ import annotations

from datetime import timedelta

from app.analytics import recommendations
from app.core.db import utcnow
from app.core.extensions import db
from app.models import BookAssociation, OrderStatus
from tests.factories import (
    DEFAULT_PASSWORD,
    make_book,
    make_category,
    make_demand,
    make_member,
    make_placed_order,
)
from tests.helpers import counting_statements


def rule(a, b, confidence, lift=2.0, rank=1):
    db.session.add(BookAssociation(book_id=a.id, other_book_id=b.id, rank=rank, both_count=2,
                                   support=0.1, confidence=confidence, lift=lift))


def test_rank_candidates_sums_weighted_confidence_and_skips_the_seeds():
    seeds = {1: 1.0, 2: 2.0}
    rules = [(1, 3, 0.5, 2.0), (2, 3, 0.1, 1.5), (1, 4, 0.6, 3.0), (1, 2, 0.9, 9.0)]
    # 3: 1*0.5 + 2*0.1 = 0.7; 4: 0.6; 2 is a seed.
    assert recommendations.rank_candidates(seeds, rules) == [3, 4]


def test_a_member_gets_books_associated_with_purchases_and_wishes(ctx):
    bought, wished = make_book(title="Bought"), make_book(title="Wished", stock_on_hand=0)
    pair, wish_pair, sold_out = (make_book(title="Pair"), make_book(title="Wish pair"),
                                 make_book(title="Sold out", stock_on_hand=0))
    member = make_member()
    make_placed_order(member, lines=[(bought, 1)], status=OrderStatus.DELIVERED)
    make_demand(member, wished)
    rule(bought, pair, 0.5)
    rule(bought, sold_out, 0.9, rank=2)        # not on sale now: skipped
    rule(wished, wish_pair, 0.3)               # 2 x 0.3 = 0.6 beats 0.5: wishes weigh double
    rule(bought, wished, 0.8, rank=3)          # already wished for: skipped
    db.session.commit()

    titles = [b.title for b in recommendations.for_member(member.id, limit=2)]

    assert titles == ["Wish pair", "Pair"]


def test_what_rules_cannot_fill_comes_from_the_favourite_category(ctx):
    poetry, crime = make_category(name="Poetry"), make_category(name="Crime")
    read = make_book(category_id=poetry.id)
    poem = make_book(title="Top poem", category_id=poetry.id, sold_count=50)
    make_book(title="Top crime", category_id=crime.id, sold_count=500)
    member = make_member()
    make_placed_order(member, lines=[(read, 1)], status=OrderStatus.PAID)
    db.session.commit()

    picks = recommendations.for_member(member.id, limit=1)

    assert [b.title for b in picks] == [poem.title]


def test_a_newcomer_gets_the_shops_best_sellers(ctx):
    make_book(title="Quiet", sold_count=1)
    make_book(title="Hit", sold_count=99)
    make_book(title="Gone", sold_count=500, is_active=False)
    newcomer = make_member()
    db.session.commit()

    assert [b.title for b in recommendations.for_member(newcomer.id, limit=1)] == ["Hit"]
    assert recommendations.for_members([newcomer.id], limit=1)[newcomer.id] == [
        b.id for b in recommendations.for_member(newcomer.id, limit=1)]


def test_the_fill_up_follows_each_member_s_own_favourite_categories(ctx):
    # The statements are built once and shared: each member's categories are their own.
    poetry, crime, travel = (make_category(name=n) for n in ("Poetry", "Crime", "Travel"))
    tops = {c.name: make_book(title=f"Top {c.name}", category_id=c.id, sold_count=90)
            for c in (poetry, crime, travel)}
    readers = {}
    for name, categories in (("poet", [poetry, poetry, crime]), ("traveller", [travel])):
        readers[name] = make_member()
        make_placed_order(readers[name], status=OrderStatus.PAID, lines=[
            (make_book(category_id=c.id, sold_count=1), 1) for c in categories])
    db.session.commit()

    poet = [b.title for b in recommendations.for_member(readers["poet"].id, limit=2)]
    traveller = [b.title for b in recommendations.for_member(readers["traveller"].id, limit=1)]

    assert poet == [tops["Poetry"].title, tops["Crime"].title]
    assert traveller == [tops["Travel"].title]


def test_a_newcomer_s_recommendations_take_two_queries(app, ctx):
    # No seeds: no rules to read (the seeds, then the best sellers).
    make_book(title="Hit", sold_count=99)
    newcomer = make_member()
    db.session.commit()
    newcomer_id = newcomer.id

    with counting_statements(app) as statements:
        picks = recommendations.for_member(newcomer_id, limit=1)

    assert [b.title for b in picks] == ["Hit"]
    assert len(statements) == 2, statements


def test_batch_recommendations_match_the_single_member_ones(ctx):
    a, b, c = make_book(), make_book(), make_book(sold_count=10)
    members = [make_member() for _ in range(3)]
    make_placed_order(members[0], lines=[(a, 1)], status=OrderStatus.PAID,
                      placed_at=utcnow() - timedelta(days=3))
    make_placed_order(members[1], lines=[(a, 1), (b, 1)], status=OrderStatus.PAID)
    rule(a, b, 0.7)
    db.session.commit()

    batch = recommendations.for_members([m.id for m in members], limit=2)

    assert batch[members[0].id][0] == b.id
    assert b.id not in batch[members[1].id] and a.id not in batch[members[1].id]
    assert batch[members[2].id][0] == c.id


def test_the_account_page_shows_recommendations(app, client, auth):
    with app.app_context():
        make_book(title="Everyone reads this", sold_count=100)
        make_member(email="new@example.test")
        db.session.commit()
    auth.login("new@example.test", DEFAULT_PASSWORD)
    page = client.get("/account/").get_data(as_text=True)
    assert "Recommended for you" in page and "Everyone reads this" in page
