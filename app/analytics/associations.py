"""Members who bought this also bought: item-to-item association rules.

A transaction is one member's set of distinct books bought in paid orders (paid, shipped or
delivered; cancelled and unpaid orders do not count), capped at the member's
ASSOC_BASKET_CAP most recent books so one collector cannot dominate the cost. With N such
members, n(A) the members who bought A and n(A,B) those who bought both:

    support(A -> B)    = n(A,B) / N
    confidence(A -> B) = n(A,B) / n(A)             (share of A's buyers who bought B)
    lift(A -> B)       = confidence(A -> B) / (n(B) / N)

A rule is kept when at least ASSOC_MIN_PAIR_COUNT members bought both and lift > 1 (B is more
likely with A than without). Each book keeps its ASSOC_TOP_K best rules, ranked by confidence,
then lift, then book id, in the `book_association` snapshot that `compute` rebuilds.
Pair counting is vectorised with numpy (pair codes a * M + b, then `np.unique`).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.analytics.feedback_snapshots import save_snapshot
from app.analytics.order_lines import fetch_int_array
from app.catalog.browse import ShownBook
from app.catalog.models import Book
from app.core.db import utcnow
from app.core.extensions import db
from app.core.lazy import numpy as np
from app.core.reads import columns_only, rows
from app.feedback.models import BookAssociation
from app.ordering.models import Order, OrderLine
from app.serving import caching

INSERT_CHUNK = 5000
ASSOCIATIONS_KEY = "associations"


@dataclass(frozen=True)
class Rule:
    book_id: int
    other_book_id: int
    both_count: int
    support: float
    confidence: float
    lift: float


@dataclass(frozen=True)
class AssociationReport:
    members: int
    books: int
    rules: int
    seconds: float


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def member_baskets(cap: int | None = None) -> list[np.ndarray]:
    """Each buying member's distinct books (most recent order first, at most `cap`).

    One unsorted query read straight into numpy; ordering (by order id: ids are given in
    order of placing), de-duplication and the cap are done there."""
    cap = cap or _config("ASSOC_BASKET_CAP", 60)
    data = fetch_int_array(
        sa.select(Order.member_id, Order.id, OrderLine.book_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.is_paid), 3)
    if not len(data):
        return []
    member, order_id, book = data[:, 0], data[:, 1], data[:, 2]
    order = np.lexsort((book, -order_id, member))  # by member, newest first
    member, book = member[order], book[order]
    # Keep each (member, book) once, at its most recent position.
    modulus = int(book.max()) + 1
    _codes, first = np.unique(member * modulus + book, return_index=True)
    first.sort()
    member, book = member[first], book[first]
    starts = np.flatnonzero(np.r_[True, member[1:] != member[:-1]])
    ends = np.r_[starts[1:], len(member)]
    return [book[s:min(e, s + cap)] for s, e in zip(starts.tolist(), ends.tolist(),
                                                    strict=True)]


def rules_from_baskets(baskets: list[np.ndarray], *, min_count: int = 2,
                       top_k: int = 6) -> list[Rule]:
    """Every kept rule A -> B (both directions), best first within each A."""
    n_members = len(baskets)
    if n_members == 0:
        return []
    ids, counts = np.unique(np.concatenate(baskets), return_counts=True)
    modulus = int(ids.max()) + 1
    triu: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    codes: list[np.ndarray] = []
    for basket in baskets:
        size = len(basket)
        if size < 2:
            continue
        if size not in triu:
            triu[size] = np.triu_indices(size, k=1)
        ordered = np.sort(basket)
        i, j = triu[size]
        codes.append(ordered[i] * modulus + ordered[j])
    if not codes:
        return []
    pair_codes, pair_counts = np.unique(np.concatenate(codes), return_counts=True)
    keep = pair_counts >= min_count
    pair_codes, pair_counts = pair_codes[keep], pair_counts[keep]
    low, high = pair_codes // modulus, pair_codes % modulus
    a = np.concatenate([low, high])
    b = np.concatenate([high, low])
    both = np.concatenate([pair_counts, pair_counts]).astype(np.float64)
    n_a = counts[np.searchsorted(ids, a)].astype(np.float64)
    n_b = counts[np.searchsorted(ids, b)].astype(np.float64)
    support = both / n_members
    confidence = both / n_a
    lift = confidence / (n_b / n_members)
    keep = lift > 1.0 + 1e-12
    a, b, both, support, confidence, lift = (x[keep] for x in (a, b, both, support,
                                                                confidence, lift))
    # Best first within each book: confidence desc, lift desc, other book id asc; top k.
    order = np.lexsort((b, -lift, -confidence, a))
    a, b, both, support, confidence, lift = (x[order] for x in (a, b, both, support,
                                                                 confidence, lift))
    position = np.arange(len(a))
    group_start = np.maximum.accumulate(np.where(np.r_[True, a[1:] != a[:-1]], position, 0))
    keep = (position - group_start) < top_k
    return [Rule(int(x), int(y), int(n), float(s), float(c), float(lf))
            for x, y, n, s, c, lf in zip(a[keep].tolist(), b[keep].tolist(),
                                         both[keep].tolist(), support[keep].tolist(),
                                         confidence[keep].tolist(), lift[keep].tolist(),
                                         strict=True)]


def compute(now: datetime | None = None) -> AssociationReport:
    """Rebuild the `book_association` snapshot from the order history (flushes, no commit);
    its summary goes to the "associations" feedback snapshot."""
    began = time.perf_counter()
    now = now or utcnow()
    baskets = member_baskets()
    min_count = _config("ASSOC_MIN_PAIR_COUNT", 2)
    rules = rules_from_baskets(baskets, min_count=min_count, top_k=_config("ASSOC_TOP_K", 6))
    db.session.execute(sa.delete(BookAssociation))
    rows: list[dict] = []
    rank, last = 0, None
    insert = sa.insert(BookAssociation.__table__)
    for rule in rules:
        rank = rank + 1 if rule.book_id == last else 1
        last = rule.book_id
        rows.append({"book_id": rule.book_id, "other_book_id": rule.other_book_id,
                     "rank": rank, "both_count": rule.both_count, "support": rule.support,
                     "confidence": rule.confidence, "lift": rule.lift})
        if len(rows) >= INSERT_CHUNK:
            db.session.execute(insert, rows)
            rows = []
    if rows:
        db.session.execute(insert, rows)
    report = AssociationReport(members=len(baskets), books=len({r.book_id for r in rules}),
                               rules=len(rules), seconds=time.perf_counter() - began)
    save_snapshot(ASSOCIATIONS_KEY, {"members": report.members, "books": report.books,
                                     "rules": report.rules, "min_count": min_count},
                  report.seconds, now)
    return report


@dataclass(frozen=True)
class AlsoBought:
    """One book of the book page's "Members who bought this also bought" (plain data: safe to
    cache)."""

    book_id: int
    title: str
    authors: str
    price: object
    confidence: float
    lift: float


#: The name under which the book page's query says whether the snapshot has rules from a book
#: (registered by this feature's init_app with `app.catalog.browse.show_with_book`).
HAS_ALSO_BOUGHT = "has_also_bought"


def has_also_bought_expression() -> sa.ColumnElement[bool]:
    """Whether the snapshot holds rules from the book of the enclosing query (an indexed
    EXISTS)."""
    return sa.exists().where(BookAssociation.book_id == Book.id)


def also_bought_for(book: ShownBook) -> tuple[AlsoBought, ...]:
    """The book page's "also bought" list for `book` as read with it: nothing to read or
    cache when its query found no rule from it (most books), else `also_bought_shown`."""
    if not book.shown_with.get(HAS_ALSO_BOUGHT, True):
        return ()
    return also_bought_shown(book.id)


def also_bought_shown(book_id: int) -> tuple[AlsoBought, ...]:
    """The book page's "also bought" list (ALSO_BOUGHT_SHOWN books), cached as long as the
    page's reader section (BOOK_FEEDBACK_CACHE_SECONDS)."""
    seconds = current_app.config.get("BOOK_FEEDBACK_CACHE_SECONDS", 300)
    return caching.remember(f"also-bought:book:{book_id}", seconds,
                            lambda: compute_also_bought_shown(book_id))


def compute_also_bought_shown(book_id: int) -> tuple[AlsoBought, ...]:
    """One query (`_also_bought_shown_statement`)."""
    return tuple(AlsoBought(*row) for row in rows(
        _also_bought_shown_statement(),
        {"book_id": book_id, "limit": current_app.config.get("ALSO_BOUGHT_SHOWN", 6)}))


@functools.cache
def _also_bought_shown_statement() -> sa.Select:
    """The snapshot's best rules from one book to books still on sale, as the book page shows
    them (AlsoBought's columns), built once: a book page that misses the caches runs it."""
    return columns_only(
        sa.select(Book.id, Book.title, Book.authors, Book.price, BookAssociation.confidence,
                  BookAssociation.lift)
        .join(Book, Book.id == BookAssociation.other_book_id)
        .where(BookAssociation.book_id == sa.bindparam("book_id"), Book.is_active.is_(True))
        .order_by(BookAssociation.rank)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
