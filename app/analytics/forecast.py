"""Demand forecast: which books to reorder, and how many copies.

Method. For every book that sold in the last FORECAST_WINDOW_DAYS days (orders not cancelled)
or that readers are waiting for (open demand with a catalog book):

    velocity    = copies sold in the window / window days              (copies a day)
    expected    = velocity * (FORECAST_LEAD_DAYS + FORECAST_COVER_DAYS)
                  (sales while the order is on its way, plus the days the order should cover)
    safety      = FORECAST_SERVICE_Z * sqrt(velocity * FORECAST_LEAD_DAYS)
                  (daily sales taken as Poisson: the spread over the lead time is the square
                  root of its mean; z = 1.65 keeps the shelf stocked on ~95 % of lead times)
    waiting     = copies on open demand lists (readers already asking)
    reorder     = ceil(expected + safety + waiting - stock on hand), when above zero

Days of cover (stock / velocity) tells how soon the shelf empties at the current pace. The
list, most copies first, is computed by `compute` into a `feedback_snapshot` row.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.analytics.feedback_snapshots import save_snapshot
from app.catalog.models import Book
from app.core.db import utcnow
from app.core.extensions import db
from app.demand.models import Demand
from app.ordering.models import Order, OrderLine, OrderStatus

FORECAST_KEY = "forecast.reorder"


@dataclass(frozen=True)
class Settings:
    window_days: int = 90
    lead_days: int = 14
    cover_days: int = 30
    z: float = 1.65
    rows: int = 200

    @classmethod
    def from_config(cls) -> Settings:
        config = current_app.config
        return cls(window_days=int(config.get("FORECAST_WINDOW_DAYS", 90)),
                   lead_days=int(config.get("FORECAST_LEAD_DAYS", 14)),
                   cover_days=int(config.get("FORECAST_COVER_DAYS", 30)),
                   z=float(config.get("FORECAST_SERVICE_Z", 1.65)),
                   rows=int(config.get("FORECAST_ROWS", 200)))


def reorder_quantity(sold: int, waiting: int, stock: int, s: Settings) -> tuple[float, int]:
    """(velocity per day, copies to reorder) for one book, by the method above."""
    velocity = sold / s.window_days if s.window_days > 0 else 0.0
    expected = velocity * (s.lead_days + s.cover_days)
    safety = s.z * math.sqrt(velocity * s.lead_days)
    need = expected + safety + waiting - stock
    return velocity, max(0, math.ceil(need - 1e-9))


def compute(now: datetime | None = None, settings: Settings | None = None) -> dict:
    """The reorder list into the snapshot (three GROUP BY / lookup queries)."""
    began = time.perf_counter()
    now = now or utcnow()
    s = settings or Settings.from_config()
    since = now - timedelta(days=s.window_days)
    # Driven from the recent orders (placed_at index), not from every line of every order.
    recent = sa.select(Order.id).where(Order.placed_at >= since,
                                       Order.status != OrderStatus.CANCELLED)
    sold = dict(db.session.execute(
        sa.select(OrderLine.book_id, sa.func.sum(OrderLine.quantity))
        .where(OrderLine.order_id.in_(recent))
        .group_by(OrderLine.book_id)
    ).all())
    waiting = dict(db.session.execute(
        sa.select(Demand.book_id, sa.func.sum(Demand.quantity))
        .where(Demand.is_waiting, Demand.book_id.is_not(None))
        .group_by(Demand.book_id)
    ).all())
    candidates = set(sold) | set(waiting)
    rows = []
    ids = sorted(candidates)
    for start in range(0, len(ids), 900):
        for book_id, title, authors, stock, active in db.session.execute(
            sa.select(Book.id, Book.title, Book.authors, Book.stock_on_hand, Book.is_active)
            .where(Book.id.in_(ids[start:start + 900]))
        ):
            if not active:
                continue
            copies = int(sold.get(book_id, 0))
            wanted = int(waiting.get(book_id, 0))
            velocity, quantity = reorder_quantity(copies, wanted, stock, s)
            if quantity <= 0:
                continue
            rows.append({
                "book_id": book_id, "title": title, "authors": authors, "stock": stock,
                "sold": copies, "waiting": wanted, "velocity": round(velocity, 3),
                "days_of_cover": round(stock / velocity, 1) if velocity > 0 else None,
                "reorder": quantity,
            })
    rows.sort(key=lambda r: (-r["reorder"], -r["waiting"], r["book_id"]))
    payload = {
        "settings": {"window_days": s.window_days, "lead_days": s.lead_days,
                     "cover_days": s.cover_days, "z": s.z},
        "books_to_reorder": len(rows),
        "copies_to_reorder": sum(r["reorder"] for r in rows),
        "rows": rows[:s.rows],
    }
    save_snapshot(FORECAST_KEY, payload, time.perf_counter() - began, now)
    return payload
