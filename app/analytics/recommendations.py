"""Personal recommendations: from what a member bought and what they are waiting for.

Seeds are the books of the member's orders (any order not cancelled; weight 1) and of their
open demand list (weight 2: a wish not yet served says more than a purchase). A candidate B
scores the sum over seeds A of weight(A) * confidence(A -> B) from the association snapshot
(app.analytics.associations), ties broken by the best lift, then by popularity.
Books the member already bought or asked for are never recommended, nor books not on sale or
out of stock. What the rules cannot fill is filled with the best sellers of the member's
favourite categories (the three most frequent among their seeds), and, for a newcomer with no
seeds at all, with the shop's best sellers.

`for_member` (the account page) runs three queries (two with no history); `for_members` (the
campaigns) does the same for many members with a few queries per thousand members.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from app.analytics.order_lines import raw_rows
from app.catalog.models import Book
from app.core.extensions import db
from app.demand.models import Demand, DemandStatus
from app.feedback.models import BookAssociation
from app.ordering.models import Order, OrderLine, OrderStatus

DEMAND_WEIGHT = 2.0
PURCHASE_WEIGHT = 1.0
CHUNK = 900  # bound parameters per IN list (SQLite's default limit is far above)
FAVOURITE_CATEGORIES = 3  # the fill-up reads the best sellers of this many top categories
MAX_SKIPPED = 50  # extra best sellers read to skip the ones the member already has
BATCH_RULES_PER_BOOK = 3  # a campaign reads each seed book's 3 best rules


def _on_sale():
    return sa.and_(Book.is_active.is_(True), Book.stock_on_hand > 0)


def _seed_stmt(member_ids: Sequence[int] | sa.BindParameter) -> sa.Select:
    """(member id, book id, category id, weight) of every seed, purchases and wishes together."""
    bought = (
        sa.select(Order.member_id.label("member_id"), OrderLine.book_id.label("book_id"),
                  sa.literal(PURCHASE_WEIGHT).label("weight"))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.member_id.in_(member_ids), Order.status != OrderStatus.CANCELLED)
    )
    wanted = (
        sa.select(Demand.member_id.label("member_id"), Demand.book_id.label("book_id"),
                  sa.literal(DEMAND_WEIGHT).label("weight"))
        .where(Demand.member_id.in_(member_ids), Demand.book_id.is_not(None),
               Demand.status == DemandStatus.OPEN)
    )
    seeds = sa.union_all(bought, wanted).subquery()
    return (
        sa.select(seeds.c.member_id, seeds.c.book_id, Book.category_id,
                  sa.func.max(seeds.c.weight))
        .join(Book, Book.id == seeds.c.book_id)
        .group_by(seeds.c.member_id, seeds.c.book_id, Book.category_id)
    )


def rank_candidates(seeds: dict[int, float],
                    rules: Iterable[tuple[int, int, float, float]],
                    popularity: dict[int, int] | None = None) -> list[int]:
    """Candidate book ids, best first: score = sum of weight(seed) * confidence(seed -> B),
    then best lift, then popularity (sold copies), then id. Seeds themselves are excluded."""
    score: dict[int, float] = defaultdict(float)
    best_lift: dict[int, float] = defaultdict(float)
    for book_id, other_id, confidence, lift in rules:
        weight = seeds.get(book_id)
        if weight is None or other_id in seeds:
            continue
        score[other_id] += weight * confidence
        best_lift[other_id] = max(best_lift[other_id], lift)
    popularity = popularity or {}
    return sorted(score, key=lambda b: (-round(score[b], 9), -best_lift[b],
                                        -popularity.get(b, 0), b))


def _favourites(categories: Counter) -> list[int]:
    """The categories most frequent first (ties by id); uncategorised books (None) count for
    none, and are left out before sorting: None does not compare with an id."""
    counted = [(c, n) for c, n in categories.items() if c is not None]
    return [c for c, _n in sorted(counted, key=lambda kv: (-kv[1], kv[0]))]


@functools.lru_cache(maxsize=FAVOURITE_CATEGORIES + 1)
def _popular(categories: int) -> sa.Select:
    """Best sellers on sale of each of `categories` categories (bound as `category_<i>`), or
    of the shop when none, `limit` (bound) of each, one statement: a UNION of per-category
    `ORDER BY sold_count DESC LIMIT n` reads, each walking the (category, sold_count) index
    instead of sorting every book of the categories. Built once per number of categories."""
    limit = sa.bindparam("limit", type_=sa.Integer)

    def best(where) -> sa.Select:
        return (sa.select(Book.id).where(_on_sale(), where)
                .order_by(Book.sold_count.desc(), Book.id).limit(limit))

    if not categories:
        ids = best(sa.true()).subquery()
        return sa.select(Book).join(ids, ids.c.id == Book.id)
    parts = [best(Book.category_id == sa.bindparam(f"category_{i}", type_=sa.Integer))
             .subquery().select() for i in range(categories)]
    ids = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery()
    return sa.select(Book).join(ids, ids.c.id == Book.id)


@functools.cache
def _member_statements() -> tuple[sa.Select, sa.Select]:
    """for_member's seeds (of the members bound as `member_ids`) and the rules from the seeds
    (`seed_ids`) with their target books on sale, built once: building them cost more than
    running them, on every visit of the account page."""
    seeds = _seed_stmt(sa.bindparam("member_ids", expanding=True))
    rules = (sa.select(BookAssociation.book_id, BookAssociation.confidence,
                       BookAssociation.lift, Book)
             .join(Book, Book.id == BookAssociation.other_book_id)
             .where(BookAssociation.book_id.in_(sa.bindparam("seed_ids", expanding=True)),
                    _on_sale()))
    return seeds, rules


def for_member(member_id: int, limit: int = 6) -> list[Book]:
    """Recommended books for one member (three queries; two for a member with no seeds)."""
    seeds_statement, rules_statement = _member_statements()
    seeds: dict[int, float] = {}
    categories: Counter = Counter()
    for _m, book_id, category_id, weight in db.session.execute(
            seeds_statement, {"member_ids": [member_id]}):
        seeds[book_id] = float(weight)
        categories[category_id] += 1
    # Rules from the seeds, with their target books (on sale) loaded in the same query.
    rows = db.session.execute(rules_statement, {"seed_ids": list(seeds)}).all() if seeds else []
    books = {row.Book.id: row.Book for row in rows}
    ranked = rank_candidates(seeds, ((r.book_id, r.Book.id, r.confidence, r.lift)
                                     for r in rows),
                             {b.id: b.sold_count for b in books.values()})
    chosen = [books[b] for b in ranked[:limit]]
    favourites = _favourites(categories)[:FAVOURITE_CATEGORIES]
    want = 2 * limit + min(len(seeds), MAX_SKIPPED)
    taken = {b.id for b in chosen} | set(seeds)
    values = {"limit": want, **{f"category_{i}": c for i, c in enumerate(favourites)}}
    fill = [b for b in db.session.scalars(_popular(len(favourites)), values)
            if b.id not in taken]
    rank = {c: i for i, c in enumerate(favourites)}
    fill.sort(key=lambda b: (rank.get(b.category_id, len(rank)), -b.sold_count, b.id))
    return (chosen + fill)[:limit]


def for_members(member_ids: Sequence[int], limit: int = 4) -> dict[int, list[int]]:
    """Recommended book ids for many members (a campaign), batched."""
    result: dict[int, list[int]] = {}
    popular_by_category: dict[int | None, list[tuple[int, int]]] = {}
    overall = [(b, s) for b, s in db.session.execute(
        sa.select(Book.id, Book.sold_count).where(_on_sale())
        .order_by(Book.sold_count.desc(), Book.id).limit(limit * 10))]
    for start in range(0, len(member_ids), CHUNK):
        chunk = list(member_ids[start:start + CHUNK])
        seeds: dict[int, dict[int, float]] = defaultdict(dict)
        categories: dict[int, Counter] = defaultdict(Counter)
        for member_id, book_id, category_id, weight in db.session.execute(_seed_stmt(chunk)):
            seeds[member_id][book_id] = float(weight)
            categories[member_id][category_id] += 1
        seed_books = sorted({b for s in seeds.values() for b in s})
        rules: dict[int, list[tuple[int, int, float, float]]] = defaultdict(list)
        sold: dict[int, int] = {}
        for part in range(0, len(seed_books), CHUNK):
            for book_id, other_id, confidence, lift, sold_count in raw_rows(
                sa.select(BookAssociation.book_id, BookAssociation.other_book_id,
                          BookAssociation.confidence, BookAssociation.lift, Book.sold_count)
                .join(Book, Book.id == BookAssociation.other_book_id)
                .where(BookAssociation.book_id.in_(seed_books[part:part + CHUNK]),
                       BookAssociation.rank <= BATCH_RULES_PER_BOOK, _on_sale())
            ):
                rules[book_id].append((book_id, other_id, confidence, lift))
                sold[other_id] = sold_count
        for member_id in chunk:
            mine = seeds.get(member_id, {})
            member_rules = [r for b in mine for r in rules.get(b, ())]
            picks = rank_candidates(mine, member_rules, sold)[:limit]
            taken = set(picks) | set(mine)
            for category in _favourites(categories.get(member_id, Counter())):
                if len(picks) >= limit:
                    break
                if category not in popular_by_category:
                    popular_by_category[category] = [
                        (b, s) for b, s in db.session.execute(
                            sa.select(Book.id, Book.sold_count)
                            .where(_on_sale(), Book.category_id == category)
                            .order_by(Book.sold_count.desc(), Book.id).limit(limit * 10))]
                for book_id, _s in popular_by_category[category]:
                    if len(picks) >= limit:
                        break
                    if book_id not in taken:
                        picks.append(book_id)
                        taken.add(book_id)
            for book_id, _s in overall:
                if len(picks) >= limit:
                    break
                if book_id not in taken:
                    picks.append(book_id)
                    taken.add(book_id)
            result[member_id] = picks
    return result
