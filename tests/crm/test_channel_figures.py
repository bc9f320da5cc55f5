"""The dashboard's channel figures: orders and revenue by channel (revenue by Order's one
definition: paid, shipped or delivered), calls logged, phone orders by staff member."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.core.db import utcnow
from app.core.extensions import db
from app.crm import interactions, stats
from app.models import OrderChannel, OrderStatus
from tests.factories import make_member, make_placed_order, make_staff
from tests.pages import logged_in_client


def _orders(now):
    ann, bob = make_staff(name="Ann Agent"), make_staff(name="Bob Agent")
    customer = make_member()
    make_placed_order(customer, total=Decimal("10.00"), status=OrderStatus.PAID, placed_at=now)
    make_placed_order(customer, total=Decimal("99.00"), status=OrderStatus.PLACED,
                      placed_at=now)  # not paid: no revenue
    for staff, total, status in ((ann, "20.00", OrderStatus.DELIVERED),
                                 (ann, "30.00", OrderStatus.CANCELLED),
                                 (bob, "5.50", OrderStatus.SHIPPED)):
        make_placed_order(customer, total=Decimal(total), status=status, placed_at=now,
                          channel=OrderChannel.PHONE, placed_by_id=staff.id)
    make_placed_order(customer, total=Decimal("7.00"), status=OrderStatus.PAID,
                      placed_at=now - timedelta(days=40), channel=OrderChannel.PHONE,
                      placed_by_id=bob.id)  # outside the 30 days
    interactions.add_interaction(customer, ann, "phone", "called")
    interactions.add_interaction(customer, ann, "email", "wrote")
    db.session.flush()


def test_orders_revenue_calls_and_phone_orders_by_staff(ctx):
    now = utcnow()
    _orders(now - timedelta(minutes=5))

    figures = stats.channel_figures(utcnow())

    by_channel = {r.channel: (r.orders, r.revenue) for r in figures.channels}
    assert by_channel == {"web": (2, Decimal("10.00")), "phone": (3, Decimal("25.50"))}
    assert figures.calls == 1
    assert [(s.name, s.orders, s.revenue) for s in figures.by_staff] == [
        ("Ann Agent", 2, Decimal("20.00")), ("Bob Agent", 1, Decimal("5.50"))]


def test_the_dashboard_shows_the_channels_and_their_csv(app, staff_id):
    with app.app_context():
        _orders(utcnow() - timedelta(minutes=5))
        db.session.commit()
    agent = logged_in_client(app, "clerk@example.test")
    html = agent.get("/admin/").get_data(as_text=True)
    assert 'data-testid="channels"' in html and "Ann Agent" in html
    assert 'data-testid="calls-logged">1<' in html
    csv = agent.get("/admin/dashboard/channels.csv").get_data(as_text=True)
    assert "channel,phone,3,25.50" in csv and "phone_orders_by,Bob Agent,1,5.50" in csv
