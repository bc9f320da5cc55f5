"""Reorder forecast (issue 5): sales pace, lead time, safety stock and waiting readers."""

from __future__ import annotations

import math
from datetime import timedelta

from app.analytics import forecast
from app.analytics.feedback_snapshots import load_snapshot
from app.core.db import utcnow
from app.core.extensions import db
from app.models import OrderStatus
from tests.factories import (
    DEFAULT_PASSWORD,
    make_book,
    make_demand,
    make_member,
    make_placed_order,
    make_staff,
)

SETTINGS = forecast.Settings(window_days=90, lead_days=14, cover_days=30, z=1.65)


def test_the_reorder_quantity_follows_the_documented_formula():
    # 90 copies in 90 days: 1 a day. 44 expected over 14 + 30 days, safety 1.65 * sqrt(14)
    # = 6.17, 3 readers waiting, 10 on the shelf: 44 + 6.17 + 3 - 10 = 43.17 -> 44.
    velocity, quantity = forecast.reorder_quantity(90, 3, 10, SETTINGS)
    assert velocity == 1.0
    assert quantity == math.ceil(44 + 1.65 * math.sqrt(14) + 3 - 10) == 44


def test_nothing_sold_and_nobody_waiting_needs_nothing():
    assert forecast.reorder_quantity(0, 0, 0, SETTINGS) == (0.0, 0)
    assert forecast.reorder_quantity(0, 2, 5, SETTINGS) == (0.0, 0)  # the shelf covers them
    assert forecast.reorder_quantity(0, 2, 0, SETTINGS) == (0.0, 2)


def test_compute_lists_books_running_short_and_wanted_books(ctx):
    now = utcnow()
    hot = make_book(title="Hot", stock_on_hand=230)
    plenty = make_book(title="Plenty", stock_on_hand=100)
    wanted = make_book(title="Wanted", stock_on_hand=0)
    member = make_member()
    make_placed_order(member, lines=[(hot, 90)], status=OrderStatus.PAID,
                      placed_at=now - timedelta(days=10))
    make_placed_order(member, lines=[(hot, 50)], status=OrderStatus.CANCELLED,
                      placed_at=now - timedelta(days=10))          # does not count
    make_placed_order(member, lines=[(hot, 70)], status=OrderStatus.PAID,
                      placed_at=now - timedelta(days=200))         # outside the window
    make_placed_order(member, lines=[(plenty, 1)], status=OrderStatus.PAID,
                      placed_at=now - timedelta(days=5))
    make_demand(member, wanted, quantity=2)
    make_demand(make_member(), wanted, quantity=1)
    db.session.commit()
    stock_after_sales = hot.stock_on_hand  # the factory took the copies off the shelf

    payload = forecast.compute(now, SETTINGS)

    rows = {r["title"]: r for r in payload["rows"]}
    assert set(rows) == {"Hot", "Wanted"}
    assert rows["Hot"]["sold"] == 90
    assert rows["Hot"]["reorder"] == forecast.reorder_quantity(90, 0, stock_after_sales,
                                                               SETTINGS)[1]
    assert (rows["Wanted"]["waiting"], rows["Wanted"]["reorder"]) == (3, 3)
    assert load_snapshot(forecast.FORECAST_KEY).payload["books_to_reorder"] == 2


def test_the_forecast_page_explains_the_method_to_staff(app, client, auth):
    with app.app_context():
        book = make_book(title="Runaway", stock_on_hand=0)
        make_demand(make_member(), book, quantity=4)
        make_staff(email="clerk@example.test")
        db.session.commit()
        forecast.compute()
        db.session.commit()
    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    page = client.get("/admin/forecast").get_data(as_text=True)
    assert "Safety stock" in page and "Runaway" in page
    assert "1 books to reorder, 4 copies in all." in page
