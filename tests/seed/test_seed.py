"""`flask seed`: a realistic, deterministic demo shop, loaded once and kept afterwards."""

from __future__ import annotations

import csv
import gzip
import shutil
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import create_app
from app.catalog import isbn
from app.core.extensions import db
from app.core.text import fold
from app.membership.members import authenticate
from app.models import Book, Category, Member, Order, OrderEvent, OrderLine, OrderStatus, Role
from app.seed import catalog as seed_catalog
from app.seed.categories import CATEGORIES, CATEGORY_SLUGS
from app.seed.loader import seed_demo
from config import TestConfig

BOOKS_LIMIT = 200
CHINESE_COUNT = len(seed_catalog.read_chinese())


def _fresh_app(template: str, path):
    """Another app on its own fresh copy of the test schema (for comparing two seeds)."""
    shutil.copyfile(template, path)
    config = type("_Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    return create_app(config)


#: The seed's history is laid out backwards from "now"; the checks of its shape below run on one
#: fixed time, so they do not depend on the hour the suite runs at (the number of orders alone
#: ranged from 2,987 to 4,668 over a few hours of start times).
SEED_NOW = "2026-12-06T00:40:00"


def _seed(app) -> str:
    result = app.test_cli_runner().invoke(args=["seed", "--books-limit", str(BOOKS_LIMIT),
                                                "--now", SEED_NOW])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def seeded_file(sqlite_template, tmp_path_factory) -> str:
    """One seeded database for the read-only checks below (seeding takes a few seconds)."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    app = _fresh_app(sqlite_template, path)
    _seed(app)
    with app.app_context():
        db.engine.dispose()
    return str(path)


@pytest.fixture
def seeded(seeded_file, tmp_path):
    """An app context on a private copy of the seeded database."""
    path = tmp_path / "copy.db"
    shutil.copyfile(seeded_file, path)
    config = type("_Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    app = create_app(config)
    with app.app_context():
        yield app
        db.engine.dispose()


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --------------------------------------------------------------------------- the command


def test_seed_loads_the_limited_catalog_plus_the_chinese_titles_and_reports_it(app, runner):
    result = runner.invoke(args=["seed", "--books-limit", str(BOOKS_LIMIT)])

    assert result.exit_code == 0, result.output
    with app.app_context():
        books = _count(Book)
        members = _count(Member)
        orders = _count(Order)
    assert books == BOOKS_LIMIT + CHINESE_COUNT
    assert f"Loaded {books:,} books" in result.output
    assert f"{members:,} members" in result.output
    assert f"{orders:,} orders" in result.output
    assert " s." in result.output  # the elapsed seconds
    # ... and analyses the members, so the analysis pages show the demo data at once.
    assert "Analysed" in result.output
    with app.app_context():
        from app.analytics import snapshots
        assert snapshots.latest_run() is not None


def test_a_second_seed_changes_nothing_and_says_the_data_is_kept(app, runner):
    runner.invoke(args=["seed", "--books-limit", "20"])
    with app.app_context():
        before = (_count(Book), _count(Member), _count(Order), _count(OrderLine))

    result = runner.invoke(args=["seed", "--books-limit", "20"])

    assert result.exit_code == 0
    assert "already has books" in result.output
    with app.app_context():
        assert (_count(Book), _count(Member), _count(Order), _count(OrderLine)) == before


def _shelf():
    return db.session.execute(
        sa.select(Book.title, Book.isbn13, Book.price, Book.stock_on_hand, Book.category_id)
        .order_by(Book.id)
    ).all()


def test_seeding_again_in_a_fresh_database_gives_the_same_prices_and_stock(seeded_file,
                                                                           sqlite_template,
                                                                           tmp_path):
    first = _fresh_app(seeded_file, tmp_path / "first.db")
    second = _fresh_app(sqlite_template, tmp_path / "second.db")
    _seed(second)

    shelves = []
    for app in (first, second):
        with app.app_context():
            shelves.append(_shelf())
            db.engine.dispose()

    assert shelves[0] == shelves[1]
    assert len(shelves[0]) == BOOKS_LIMIT + CHINESE_COUNT


def test_the_whole_history_is_identical_for_the_same_moment_of_seeding(sqlite_template,
                                                                       tmp_path):
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    histories = []
    for name in ("one.db", "two.db"):
        app = _fresh_app(sqlite_template, tmp_path / name)
        with app.app_context():
            seed_demo(now=moment, books_limit=30)
            db.session.commit()
            histories.append(db.session.execute(
                sa.select(Order.member_id, Order.status, Order.placed_at, Order.total,
                          Member.email)
                .join(Member, Member.id == Order.member_id).order_by(Order.id)
            ).all())
            db.engine.dispose()

    assert histories[0] == histories[1]
    assert all(row.placed_at <= moment for row in histories[0])


# --------------------------------------------------------------------------- what it loads


def test_every_category_exists_with_a_name_description_and_position(seeded):
    rows = db.session.scalars(sa.select(Category).order_by(Category.position)).all()

    assert [c.slug for c in rows] == [c.slug for c in CATEGORIES]
    assert all(c.name and c.description for c in rows)


def test_every_book_has_a_category_a_search_text_and_a_sane_price_and_stock(seeded):
    books = db.session.scalars(sa.select(Book)).all()

    for book in books:
        assert book.category_id is not None
        assert fold(book.title) in book.search_text
        assert Decimal("19.00") <= book.price <= Decimal("128.00")
        assert book.price % 1 in (Decimal("0.00"), Decimal("0.90"))
        assert 0 <= book.stock_on_hand <= 40
        assert book.created_at <= datetime.now(UTC)


def test_stock_has_sold_out_and_low_titles_but_most_are_available(seeded):
    stock = db.session.scalars(sa.select(Book.stock_on_hand)).all()

    sold_out = sum(1 for s in stock if s == 0) / len(stock)
    low = sum(1 for s in stock if 1 <= s <= 3) / len(stock)
    assert 0.03 < sold_out < 0.15
    assert 0.01 < low < 0.12


def test_the_chinese_titles_are_in_the_shop_without_invented_isbns(seeded):
    dream = db.session.scalar(sa.select(Book).where(Book.title == "红楼梦"))

    assert dream is not None
    assert dream.authors == "曹雪芹"
    assert dream.isbn10 is None and dream.isbn13 is None
    assert "红楼梦" in dream.search_text and "曹雪芹" in dream.search_text
    assert dream.language == "zh"


def test_the_demo_accounts_can_sign_in_with_their_documented_passwords(seeded):
    admin = authenticate("admin@bookstation.test", "bookstation-admin")
    staff = authenticate("staff@bookstation.test", "bookstation-staff")
    reader = authenticate("reader@bookstation.test", "bookstation-reader")

    assert admin is not None and admin.role is Role.ADMIN
    assert staff is not None and staff.role is Role.STAFF
    assert reader is not None and reader.role is Role.MEMBER
    assert reader.has_address


def test_the_demo_reader_has_delivered_and_still_open_orders(seeded):
    reader = db.session.scalar(sa.select(Member).where(Member.email == "reader@bookstation.test"))
    statuses = Counter(db.session.scalars(
        sa.select(Order.status).where(Order.member_id == reader.id)
    ))

    assert statuses[OrderStatus.DELIVERED] >= 3
    assert statuses[OrderStatus.PLACED] + statuses[OrderStatus.PAID] + \
        statuses[OrderStatus.SHIPPED] >= 1


def test_the_demo_reader_has_sign_ins_on_the_timeline_before_the_sale(seeded):
    from app.crm import timeline

    reader = db.session.scalar(sa.select(Member).where(Member.email == "reader@bookstation.test"))
    events = timeline.timeline(reader.id, kind="sign_in").events

    assert len(events) == 3 and {e.phase for e in events} == {"before"}
    assert all(" on " in e.title for e in events)


def test_generated_members_have_numbers_emails_and_addresses(seeded):
    members = db.session.scalars(
        sa.select(Member).where(Member.email.like("%@example.com"))
    ).all()

    assert len(members) == 300
    for member in members:
        assert member.member_no == f"M{member.joined_at.year}-{member.id:06d}"
        assert member.has_address
        assert member.role is Role.MEMBER
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in m.name) for m in members)
    assert any(m.name.isascii() for m in members)


def test_order_history_spans_two_years_with_mostly_delivered_orders(seeded):
    orders = db.session.scalars(sa.select(Order)).all()
    statuses = Counter(o.status for o in orders)
    first = min(o.placed_at for o in orders)
    last = max(o.placed_at for o in orders)

    assert 3_000 <= len(orders) <= 6_000
    assert (last - first).days >= 600
    assert statuses[OrderStatus.DELIVERED] / len(orders) > 0.85
    assert 0.01 < statuses[OrderStatus.CANCELLED] / len(orders) < 0.06
    assert {o.payment_method for o in orders} == {"cod", "bank_transfer"}


def test_every_order_total_is_the_sum_of_its_lines_plus_shipping(seeded):
    fee = TestConfig.SHIPPING_FEE
    free_from = TestConfig.FREE_SHIPPING_FROM
    sums = dict(db.session.execute(
        sa.select(OrderLine.order_id, sa.func.sum(OrderLine.line_total))
        .group_by(OrderLine.order_id)
    ).all())

    for order in db.session.scalars(sa.select(Order)):
        subtotal = sums[order.id]
        assert order.subtotal == subtotal
        assert order.shipping_fee == (Decimal("0.00") if subtotal >= free_from else fee)
        assert order.total == order.subtotal - order.discount_total + order.shipping_fee


def test_order_lines_snapshot_the_book_and_multiply_out(seeded):
    rows = db.session.execute(
        sa.select(OrderLine, Book).join(Book, Book.id == OrderLine.book_id)
    ).all()

    for line, book in rows:
        assert line.title == book.title and line.authors == book.authors
        assert line.unit_price == book.price
        assert line.line_total == line.unit_price * line.quantity
        assert line.quantity in (1, 2, 3)


def test_sold_count_is_the_sum_of_quantities_in_orders_not_cancelled(seeded):
    sold = dict(db.session.execute(
        sa.select(OrderLine.book_id, sa.func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status != OrderStatus.CANCELLED)
        .group_by(OrderLine.book_id)
    ).all())

    for book_id, sold_count in db.session.execute(sa.select(Book.id, Book.sold_count)):
        assert sold_count == sold.get(book_id, 0)
    assert sum(sold.values()) > 0


def test_timestamps_follow_the_status_and_each_step_has_an_event(seeded):
    events: dict[int, list] = {}
    for event in db.session.scalars(sa.select(OrderEvent).order_by(OrderEvent.id)):
        events.setdefault(event.order_id, []).append(event)

    for order in db.session.scalars(sa.select(Order)):
        steps = events[order.id]
        assert steps[0].from_status is None and steps[0].to_status is OrderStatus.PLACED
        assert steps[0].at == order.placed_at
        assert steps[-1].to_status is order.status
        assert [e.at for e in steps] == sorted(e.at for e in steps)
        for earlier, later in zip(steps, steps[1:], strict=False):
            assert later.from_status is earlier.to_status
        if order.paid_at:
            assert order.paid_at > order.placed_at
        if order.shipped_at:
            assert order.paid_at and order.shipped_at > order.paid_at
        if order.delivered_at:
            assert order.shipped_at and order.delivered_at > order.shipped_at
        if order.status is OrderStatus.CANCELLED:
            assert order.cancelled_at > order.placed_at and order.shipped_at is None
        assert order.ship_line1 and order.ship_city and order.ship_postcode


def test_orders_ship_to_the_members_address_and_come_after_joining(seeded):
    rows = db.session.execute(sa.select(Order, Member).join(Member, Member.id == Order.member_id))

    for order, member in rows:
        assert order.email == member.email
        assert (order.ship_line1, order.ship_city, order.ship_postcode) == (
            member.address_line1, member.city, member.postcode)
        if member.email.endswith("@example.com"):
            assert order.placed_at >= member.joined_at


def test_ordinary_inserts_still_work_after_the_seed_chose_ids(seeded):
    book = Book(title="After the seed", authors="New Author", price=Decimal("10.00"),
                search_text="after the seed")
    db.session.add(book)
    db.session.commit()

    assert book.id == db.session.scalar(sa.select(sa.func.max(Book.id)))


# --------------------------------------------------------------------------- the shipped data


def _shipped_rows() -> list[dict[str, str]]:
    with gzip.open(seed_catalog.BOOKS_FILE, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_shipped_catalog_has_only_valid_isbns_and_no_duplicates():
    rows = _shipped_rows()
    isbn13s = [r["isbn13"] for r in rows if r["isbn13"]]

    assert len(rows) == 10_000
    for row in rows:
        if row["isbn10"]:
            assert isbn.is_valid_isbn10(row["isbn10"])
            assert row["isbn13"] == isbn.to_isbn13(row["isbn10"])
            assert isbn.is_valid_isbn13(row["isbn13"])
        else:
            assert row["isbn13"] == ""
    assert len(isbn13s) == len(set(isbn13s))
    assert len(isbn13s) > 9_000


def test_the_shipped_catalog_has_a_known_category_for_every_book_and_integer_years():
    rows = _shipped_rows()

    assert {r["category"] for r in rows} <= CATEGORY_SLUGS
    years = [int(r["year"]) for r in rows if r["year"]]
    assert min(years) < 0  # ancient works keep their negative years
    assert all(r["title"] == " ".join(r["title"].split()) for r in rows)


def test_the_chinese_list_has_chinese_titles_categories_and_no_isbn_column():
    with seed_catalog.CHINESE_FILE.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)

    assert "isbn" not in " ".join(reader.fieldnames or [])
    assert len(rows) >= 25
    assert {r["category"] for r in rows} <= CATEGORY_SLUGS
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r["title"]) for r in rows)
