"""Write the demo data set: categories, books, people and their order history, in bulk.

`seed_demo()` plans everything in memory first (deterministic, from one seeded generator and
hashes of the source ids), then inserts with bulk `INSERT`s in chunks. It flushes but never
commits: the caller (`flask seed`) owns the transaction.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from app.catalog import search_index
from app.catalog.models import Book, BookAltTitle, Category, CategoryName
from app.core.extensions import db
from app.membership import members as member_service
from app.membership.models import Member, Role
from app.ordering import pricing
from app.ordering.models import Order, OrderEvent, OrderLine
from app.seed import catalog as cat
from app.seed import categories, crm, grades, history, people
from app.seed.info_pages import ensure_info_pages

SEED = 20_240_601
HISTORY = timedelta(days=730)
CHUNK = 1_000


@dataclass(frozen=True)
class SeedSize:
    name: str
    catalog_copies: int  # 1 = the shipped catalog; 10 = the catalog and nine more editions
    members: int
    shape: history.HistoryShape


SIZES: dict[str, SeedSize] = {
    "demo": SeedSize("demo", 1, 300, history.HistoryShape()),
    # ~100k books, 100k members and over a million order lines, for benchmarks.
    "large": SeedSize("large", 10, 100_000, history.HistoryShape(repeat_rate=9.2)),
}


@dataclass(frozen=True)
class SeedReport:
    books: int
    categories: int
    members: int
    orders: int
    order_lines: int
    seconds: float


class Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


ProgressFactory = Callable[[str, int], contextlib.AbstractContextManager[Progress]]


class _Silent:
    def update(self, n_steps: int) -> None:
        return None


@contextlib.contextmanager
def silent_progress(label: str, length: int) -> Iterator[Progress]:
    yield _Silent()


def database_has_books() -> bool:
    return db.session.scalar(sa.select(sa.exists().where(Book.id.is_not(None)))) or False


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class _Ids:
    """Primary keys handed out by the loader, so bulk inserts need no RETURNING round trip.

    (SQLAlchemy inserts row by row when it must match RETURNING rows to parameters on SQLite.)
    The seed runs alone on a shop without books; on
    PostgreSQL `sync_sequences` moves each id sequence past the ids used here.
    """

    def __init__(self, model) -> None:
        self.model = model
        self._next = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1

    def take(self, n: int) -> list[int]:
        ids = list(range(self._next, self._next + n))
        self._next += n
        return ids


def _insert(model, rows: list[dict]) -> None:
    """One executemany on the table (Core, not ORM bulk: the ORM splits the batch each time
    the pattern of NULL columns changes from one row to the next)."""
    if rows:
        db.session.execute(model.__table__.insert(), rows)


@contextlib.contextmanager
def bulk_indexing() -> Iterator[None]:
    """On SQLite, fill the FTS5 search index in one 'rebuild' after the books are in.

    Inserting through the per-row trigger of `app.catalog.search_index` is far slower than one
    rebuild. The trigger is dropped inside the seed's transaction and re-created by
    `search_index.install`, so a failed seed rolls back to the original state. The rebuild reads
    every row of `book`, which is right here: the seed only runs on a shop without books.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite" or not sa.inspect(connection).has_table("book_fts"):
        yield
        return
    db.session.execute(sa.text("DROP TRIGGER IF EXISTS book_fts_ai"))
    yield
    search_index.install(connection)
    db.session.execute(sa.text("INSERT INTO book_fts(book_fts) VALUES ('rebuild')"))


def sync_sequences(*models) -> None:
    """After inserting explicit ids on PostgreSQL, let the id sequences continue after them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__table__
        db.session.execute(sa.select(sa.func.setval(
            sa.func.pg_get_serial_sequence(table.name, "id"),
            sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0) + 1).scalar_subquery(),
            False,
        )))


def refresh_planner_statistics() -> None:
    """On PostgreSQL, ANALYZE after the bulk load: with stale statistics the planner thinks the
    tables are empty and scans `book` instead of using the search index."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))


def vacuum_after_load() -> None:
    """On PostgreSQL, VACUUM (ANALYZE) once the seed is committed (it cannot run inside a
    transaction). The grading and CRM passes rewrite every member row, and until a vacuum runs
    each search walks the dead rows and the trigram indexes' pending lists (GIN's fastupdate),
    which slows the name search on the large set many times. Autovacuum gets there in time
    where it is on (PostgreSQL's default; not on this workplace's test server)."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE)"))


# --------------------------------------------------------------------------- categories


def ensure_categories() -> dict[str, int]:
    """Every seed category exists (created if missing) and has its Chinese name and
    description (unless staff already gave it a Chinese name); returns slug -> id."""
    existing = {c.slug: c.id for c in db.session.scalars(sa.select(Category))}
    missing = [
        {"slug": c.slug, "name": c.name, "description": c.description, "position": c.position}
        for c in categories.CATEGORIES
        if c.slug not in existing
    ]
    for row, new_id in zip(missing, _Ids(Category).take(len(missing)), strict=True):
        row["id"] = existing[row["slug"]] = new_id
    _insert(Category, missing)
    named = set(db.session.scalars(
        sa.select(CategoryName.category_id).where(CategoryName.locale == "zh_Hans")))
    _insert(CategoryName, [
        {"category_id": existing[c.slug], "locale": "zh_Hans", "name": c.name_zh,
         "description": categories.DESCRIPTIONS_ZH.get(c.slug)}
        for c in categories.CATEGORIES if c.name_zh and existing[c.slug] not in named
    ])
    return existing


# --------------------------------------------------------------------------- people


def _named_account(account: people.DemoAccount, joined_at: datetime) -> tuple[Member, bool]:
    """The demo account, created through the members service unless it already exists."""
    member = member_service.find_by_email(account.email)
    if member is not None:
        return member, False
    member = member_service.create_member(account.email, account.password, account.name,
                                           role=account.role)
    # Back-date the join (the history starts two years ago); the number follows the join year.
    member.joined_at = joined_at
    member.member_no = f"M{joined_at.year}-{member.id:06d}"
    db.session.flush()
    return member, True


def _emails_taken(emails: Sequence[str]) -> set[str]:
    wanted = set(emails)
    return {e for e in db.session.scalars(sa.select(Member.email)) if e in wanted}


def _insert_people(plans: Sequence[people.PersonPlan], taken: set[str],
                   progress: ProgressFactory, last_seen: dict[int, datetime]) -> int:
    """Insert the generated members in bulk (one password hash shared by all of them)."""
    password_hash = member_service.hash_password(people.GENERATED_PASSWORD)
    ids = _Ids(Member)
    created = 0
    with progress("Members", len(plans)) as bar:
        indexed = list(enumerate(plans))
        for chunk in _chunks(indexed):
            rows = []
            for index, plan in chunk:
                if plan.member_id is not None or plan.email in taken:
                    continue
                plan.member_id = ids.take(1)[0]
                rows.append({
                    "id": plan.member_id,
                    "member_no": f"M{plan.joined_at.year}-{plan.member_id:06d}",
                    "email": plan.email,
                    "name": plan.name,
                    "password_hash": password_hash,
                    "role": Role.MEMBER,
                    "joined_at": plan.joined_at,
                    "email_verified_at": plan.joined_at,
                    "last_login_at": last_seen.get(index, plan.joined_at),
                    **plan.address,
                })
            _insert(Member, rows)
            created += len(rows)
            bar.update(len(chunk))
    return created


# --------------------------------------------------------------------------- orders


def _write_orders(plans: Sequence[history.OrderPlan], who: Sequence[people.PersonPlan],
                  book_ids: Sequence[int], entries: Sequence[cat.CatalogEntry],
                  prices: Sequence[Decimal], progress: ProgressFactory) -> int:
    config = current_app.config
    fee, free_from = config["SHIPPING_FEE"], config["FREE_SHIPPING_FROM"]
    line_count = 0
    order_ids = _Ids(Order)
    with progress("Orders", len(plans)) as bar:
        for chunk in _chunks(plans):
            order_rows, quotes = [], []
            for plan in chunk:
                person = who[plan.person]
                quote = pricing.quote(
                    [(book, entries[book].title, prices[book], quantity)
                     for book, quantity in plan.lines],
                    shipping_fee=fee, free_shipping_from=free_from,
                )
                quotes.append(quote)
                address = person.address
                order_rows.append({
                    "id": order_ids.take(1)[0],
                    "member_id": person.member_id,
                    "status": plan.status,
                    "email": person.email,
                    "payment_method": plan.payment_method,
                    "ship_name": person.name,
                    "ship_line1": address["address_line1"],
                    "ship_line2": address["address_line2"],
                    "ship_city": address["city"],
                    "ship_region": address["region"],
                    "ship_postcode": address["postcode"],
                    "ship_country": address["country"],
                    "ship_phone": address["phone"],
                    "subtotal": quote.subtotal,
                    "discount_total": quote.discount,
                    "shipping_fee": quote.shipping,
                    "total": quote.total,
                    "tier_code": "regular",
                    "discount_rate": Decimal("0"),
                    "placed_at": plan.placed_at,
                    "paid_at": plan.paid_at,
                    "shipped_at": plan.shipped_at,
                    "delivered_at": plan.delivered_at,
                    "cancelled_at": plan.cancelled_at,
                })
            _insert(Order, order_rows)
            line_rows, event_rows = [], []
            for plan, quote, row in zip(chunk, quotes, order_rows, strict=True):
                order_id = row["id"]
                for line in quote.lines:
                    line_rows.append({
                        "order_id": order_id,
                        "book_id": book_ids[line.book_id],
                        "title": line.title,
                        "authors": entries[line.book_id].authors,
                        "unit_price": line.unit_price,
                        "quantity": line.quantity,
                        "line_total": line.line_total,
                    })
                member_id = who[plan.person].member_id
                for from_status, to_status, at in plan.steps:
                    event_rows.append({
                        "order_id": order_id,
                        "at": at,
                        "from_status": from_status,
                        "to_status": to_status,
                        # The member placed it (as checkout records); later steps by the shop.
                        "actor_id": member_id if from_status is None else None,
                        "note": None,
                    })
            _insert(OrderLine, line_rows)
            _insert(OrderEvent, event_rows)
            line_count += len(line_rows)
            bar.update(len(chunk))
    return line_count


# --------------------------------------------------------------------------- everything


def seed_demo(
    *,
    now: datetime | None = None,
    books_limit: int | None = None,
    size: str = "demo",
    progress: ProgressFactory = silent_progress,
) -> SeedReport:
    """Load the demo data set into an empty shop. Flushes; the caller commits.

    `books_limit` keeps only the first N goodbooks rows (the most-rated), for tests and quick
    demos; the Chinese titles are always loaded. All times are UTC and relative to `now`.
    """
    began = time.perf_counter()
    spec = SIZES[size]
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    start = now - HISTORY
    rng = random.Random(SEED)

    base = cat.read_goodbooks(limit=books_limit) + cat.read_chinese()
    entries = base + list(cat.large_variants(base, spec.catalog_copies))
    arrivals = [cat.arrival_for(e, start, HISTORY) for e in entries]
    prices = [cat.price_for(e) for e in entries]
    picker = history.BookPicker(arrivals, [e.popularity ** 0.9 for e in entries],
                                [e.category for e in entries])

    crowd = people.generate_people(rng, spec.members, start, HISTORY)
    reader_plan = people.demo_reader_plan(now)
    everyone = [reader_plan, *crowd]
    reader_times = history.arrivals(rng, reader_plan.joined_at + timedelta(days=3),
                                    now - timedelta(days=12), 6.0, start, HISTORY)
    reader_times += [now - timedelta(days=9, hours=4), now - timedelta(days=2, hours=3),
                     now - timedelta(minutes=40)]
    plans = history.plan_history(rng, everyone, picker, now, start, HISTORY, spec.shape,
                                 fixed={0: reader_times})
    # A generated address someone registered by hand is skipped, with its orders.
    taken = _emails_taken([p.email for p in crowd])
    plans = [p for p in plans if p.person == 0 or everyone[p.person].email not in taken]
    # The demo reader ends just below a grade threshold (one more book upgrades them).
    grades.settle_reader_below_threshold(
        plans, 0, prices, arrivals, fee=current_app.config["SHIPPING_FEE"],
        free_from=current_app.config["FREE_SHIPPING_FROM"])
    sold = history.sold_counts(plans, len(entries))
    last_seen = {plan.person: plan.placed_at for plan in plans}

    category_ids = ensure_categories()
    ensure_info_pages()

    book_ids = _Ids(Book).take(len(entries))
    with progress("Books", len(entries)) as bar, bulk_indexing():
        indexed = list(enumerate(entries))
        for chunk in _chunks(indexed):
            _insert(Book, [cat.book_row(e, book_ids[i], category_ids[e.category], prices[i],
                                        arrivals[i], sold[i]) for i, e in chunk])
            _insert(BookAltTitle, [{"book_id": book_ids[i], "kind": kind, "title": text}
                                   for i, e in chunk for kind, text in e.alt_titles])
            bar.update(len(chunk))

    named = 0
    for account, joined_at in ((people.ADMIN, start), (people.STAFF, start + timedelta(days=2)),
                               (people.READER, reader_plan.joined_at)):
        member, is_new = _named_account(account, joined_at)
        named += is_new
    reader = member
    if not reader.has_address:
        member_service.update_profile(reader, name=reader.name, **reader_plan.address)
    reader.last_login_at = last_seen.get(0, reader.joined_at)
    reader_plan.member_id = reader.id
    reader_plan.address = {key: getattr(reader, key) for key in people.READER_ADDRESS}
    created = _insert_people(crowd, taken, progress,
                             {i - 1: t for i, t in last_seen.items() if i})

    lines = _write_orders(plans, everyone, book_ids, entries, prices, progress)
    sync_sequences(Category, Book, Member, Order)
    refresh_planner_statistics()
    grades.grade_everyone(now)  # default tiers, everyone graded in one pass, no mail
    crm.decorate(now)  # customer order figures, phone keys, demo tags and notes
    db.session.flush()
    return SeedReport(
        books=len(book_ids),
        categories=len(category_ids),
        members=created + named,
        orders=len(plans),
        order_lines=lines,
        seconds=time.perf_counter() - began,
    )
