"""The schema builds, and money round-trips exactly through integer cents."""

from decimal import Decimal

import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book
from tests.factories import make_book


def test_money_round_trips_exactly_through_sqlite(ctx):
    make_book(title="Dear", price=Decimal("12345678901234.89"))
    db.session.commit()

    price = db.session.scalar(sa.select(Book.price).where(Book.title == "Dear"))

    assert price == Decimal("12345678901234.89")


def test_summing_money_in_sql_stays_exact(ctx):
    for _ in range(10):
        make_book(price=Decimal("0.10"))
    db.session.commit()

    assert db.session.scalar(sa.select(sa.func.sum(Book.price))) == Decimal("1.00")
