"""The member's order page marks its times for machines as HTML allows: ISO 8601 to the second
with the offset (a fraction of more than three digits is invalid HTML)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from app.core.extensions import db
from app.ordering.models import OrderStatus
from tests.factories import make_book, make_member, make_placed_order
from tests.pages import log_in


def test_the_order_history_times_carry_no_microseconds(app, client):
    with app.app_context():
        reader = make_member(email="timely@example.test")
        order = make_placed_order(reader, [(make_book(), 1)], status=OrderStatus.PAID,
                                  placed_at=datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC),
                                  paid_at=datetime(2026, 12, 1, 9, 45, 1, 654321, tzinfo=UTC))
        db.session.commit()
        order_id = order.id
    log_in(client, "timely@example.test")

    page = client.get(f"/orders/{order_id}").get_data(as_text=True)

    stamps = re.findall(r'<time datetime="([^"]+)"', page)
    assert stamps[:2] == ["2026-12-01T09:30:15+00:00", "2026-12-01T09:45:01+00:00"]
