"""Member grades in the demo data: all graded, the reader one book from an upgrade."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import create_app
from app.core.extensions import db
from app.grades import grading
from app.grades.spend import qualifying_spend
from app.grades.table import load_rules
from app.models import (
    Book,
    GradeChange,
    GradeReason,
    Member,
    Order,
    OrderStatus,
    OutboxMail,
    Tier,
    TierName,
)
from app.ordering import cart, checkout
from app.ordering.checkout import ShippingAddress, place_order
from app.ordering.orders import change_status
from config import TestConfig

BOOKS_LIMIT = 200


@pytest.fixture(scope="module")
def seeded_file(sqlite_template, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tiers-seeded") / "seeded.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(type("_C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}))
    result = app.test_cli_runner().invoke(args=["seed", "--books-limit", str(BOOKS_LIMIT)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    return str(path)


@pytest.fixture
def seeded(seeded_file, tmp_path):
    path = tmp_path / "copy.db"
    shutil.copyfile(seeded_file, path)
    app = create_app(type("_C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _reader() -> Member:
    return db.session.scalar(sa.select(Member).where(Member.email == "reader@bookstation.test"))


def test_the_seed_writes_the_default_tier_table(seeded):
    rows = db.session.execute(sa.select(Tier.code, Tier.min_spend, Tier.discount_rate)
                              .order_by(Tier.position)).all()

    assert rows == [("regular", Decimal("0.00"), Decimal("0.0000")),
                    ("silver", Decimal("500.00"), Decimal("0.0500")),
                    ("gold", Decimal("2000.00"), Decimal("0.1000")),
                    ("platinum", Decimal("5000.00"), Decimal("0.1500"))]


def test_the_seed_names_the_default_grades_in_chinese(seeded):
    names = db.session.execute(
        sa.select(Tier.code, TierName.name).join(TierName).where(TierName.locale == "zh_Hans")
        .order_by(Tier.position)).all()

    assert names == [("regular", "普通"), ("silver", "银卡"), ("gold", "金卡"),
                     ("platinum", "白金")]


def test_every_seeded_member_holds_the_grade_their_spend_earns(seeded):
    rules = load_rules()
    members = db.session.scalars(sa.select(Member)).all()

    for member in members:
        assert member.qualifying_spend == qualifying_spend(member)
        assert member.tier_code == grading.tier_for(member.qualifying_spend, rules).code
    assert {m.tier_code for m in members} >= {"regular", "silver", "gold", "platinum"}


def test_seeded_grade_changes_are_recorded_as_a_recompute_and_mail_nobody(seeded):
    reasons = set(db.session.scalars(sa.select(GradeChange.reason)))
    promoted = db.session.scalar(sa.select(sa.func.count()).select_from(Member)
                                 .where(Member.tier_code != "regular"))

    assert reasons == {GradeReason.RECOMPUTE}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GradeChange)) == promoted
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                             .where(OutboxMail.kind == "grade_up")) == 0


def test_the_demo_reader_sits_just_below_a_threshold(seeded):
    reader = _reader()
    upcoming, needed = grading.next_tier(reader.qualifying_spend, load_rules())

    assert Decimal("20.00") <= needed <= Decimal("28.00")
    assert reader.tier_code != upcoming.code


def test_the_demo_reader_buys_one_book_is_upgraded_mailed_and_sees_the_bigger_discount(seeded):
    reader = _reader()
    before = checkout.member_discount_rate(reader)
    cheapest = db.session.scalar(sa.select(Book).where(Book.stock_on_hand > 0, Book.is_active)
                                 .order_by(Book.price, Book.id).limit(1))
    cart.add(reader, {}, cheapest.id, 1)
    order = place_order(reader, address=ShippingAddress.from_member(reader),
                        payment_method="bank_transfer")
    db.session.commit()

    change_status(order, OrderStatus.PAID)  # staff confirm the transfer
    db.session.commit()

    reader = _reader()
    assert checkout.member_discount_rate(reader) > before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                             .where(OutboxMail.kind == "grade_up",
                                    OutboxMail.to_email == reader.email)) == 1
    cart.add(reader, {}, cheapest.id, 1)
    view = cart.lines(reader, {}, discount_rate=checkout.member_discount_rate(reader))
    assert view.quote.discount_rate == checkout.member_discount_rate(reader)
    assert db.session.get(Order, order.id).tier_code != reader.tier_code
