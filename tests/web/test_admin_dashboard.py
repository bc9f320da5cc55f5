"""The dashboard's figures are true: counted and summed in SQL, exact to the cent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import MailStatus, OrderStatus, OutboxMail
from app.services import admin_stats
from tests.factories import (
    DEFAULT_PASSWORD,
    make_book,
    make_member,
    make_placed_order,
    make_staff,
)

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _order(total: str, placed_at: datetime, status: OrderStatus = OrderStatus.PLACED):
    book = make_book(price=Decimal("1.00"), stock_on_hand=10)
    return make_placed_order(lines=[(book, 1)], total=Decimal(total), placed_at=placed_at,
                             status=status)


def _mail(status: MailStatus) -> None:
    db.session.add(OutboxMail(kind="test", to_email="a@example.test", subject="s",
                              body_text="b", message_id=f"<{status}@t>", status=status))


def test_todays_and_this_weeks_orders_are_counted_and_summed_exactly(ctx):
    _order("0.10", datetime(2026, 3, 10, 0, 0, tzinfo=UTC))  # midnight: today
    _order("0.20", datetime(2026, 3, 10, 14, 59, tzinfo=UTC))
    _order("99.99", datetime(2026, 3, 10, 9, 0, tzinfo=UTC), OrderStatus.CANCELLED)
    _order("5.00", datetime(2026, 3, 9, 23, 59, tzinfo=UTC))  # yesterday
    _order("7.00", datetime(2026, 3, 4, 0, 0, tzinfo=UTC))  # 6 days before today: in the week
    _order("1000.00", datetime(2026, 3, 3, 23, 59, tzinfo=UTC))  # too old

    stats = admin_stats.dashboard(3, now=NOW)

    assert (stats.today.orders, stats.today.revenue, stats.today.cancelled) == (
        3, Decimal("0.30"), 1)
    assert (stats.last_7_days.orders, stats.last_7_days.revenue) == (5, Decimal("12.30"))
    assert isinstance(stats.today.revenue, Decimal)


def test_a_day_without_orders_has_zero_revenue(ctx):
    stats = admin_stats.dashboard(3, now=NOW)

    assert (stats.today.orders, stats.today.revenue) == (0, Decimal("0.00"))


def test_orders_waiting_are_counted_by_status(ctx):
    for status in (OrderStatus.PLACED, OrderStatus.PLACED, OrderStatus.PAID,
                   OrderStatus.DELIVERED, OrderStatus.CANCELLED):
        _order("1.00", NOW, status)

    waiting = admin_stats.orders_waiting()

    assert waiting == {OrderStatus.PLACED: 2, OrderStatus.PAID: 1, OrderStatus.SHIPPED: 0}


def test_low_stock_lists_books_for_sale_at_or_below_the_threshold(ctx):
    make_book(title="Plenty", stock_on_hand=4)
    make_book(title="Three left", stock_on_hand=3)
    make_book(title="Gone", stock_on_hand=0)
    make_book(title="Withdrawn", stock_on_hand=0, is_active=False)

    books, low, out = admin_stats.low_stock_books(3)

    assert [b.title for b in books] == ["Gone", "Three left"]
    assert (low, out) == (2, 1)


def test_pending_and_failed_mail_are_counted(ctx):
    for status in (MailStatus.PENDING, MailStatus.FAILED, MailStatus.SENT):
        _mail(status)

    stats = admin_stats.dashboard(3, now=NOW)

    assert (stats.mail_pending, stats.mail_failed) == (1, 1)


@pytest.fixture
def staff(app, client):
    with app.app_context():
        make_staff(email="clerk@example.test")
        db.session.commit()
    client.post("/account/login", data={"email": "clerk@example.test",
                                        "password": DEFAULT_PASSWORD})
    return client


def test_the_dashboard_page_shows_the_figures(app, staff):
    with app.app_context():
        make_placed_order(make_member(), [(make_book(price=Decimal("12.50"), stock_on_hand=3),
                                           1)])
        _mail(MailStatus.FAILED)
        db.session.commit()

    page = staff.get("/admin/").get_data(as_text=True)

    assert "Orders today" in page
    assert "22.50" in page  # 12.50 + 10.00 shipping
    assert 'data-testid="waiting-placed">1<' in page
    assert 'data-testid="low-stock-count">1<' in page
    assert "1 failed" in page


@pytest.mark.pg
def test_the_figures_are_exact_on_postgresql_too(pg_app):
    with pg_app.app_context():
        _order("0.10", datetime(2026, 3, 10, 1, 0, tzinfo=UTC))
        _order("0.20", datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
        db.session.commit()

        stats = admin_stats.dashboard(3, now=NOW)

    assert (stats.today.orders, stats.today.revenue) == (2, Decimal("0.30"))
    assert stats.waiting[OrderStatus.PLACED] == 2
