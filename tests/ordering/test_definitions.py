"""The shop's definitions (Order, app.ordering.pricing): the discount shared over an order's lines
adds up to the cent, the paid statuses are the counted ones, and a customer is a member whose data
is not erased."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.models import Member, Order, OrderStatus, Role
from app.ordering import pricing

D = Decimal


def test_a_discount_is_shared_in_proportion_largest_remainder_first():
    assert pricing.allocate_discount([D("20.00"), D("10.00")], D("0.05")) == [
        D("0.03"), D("0.02")]
    assert pricing.allocate_discount([D("10.00")] * 3, D("1.00")) == [
        D("0.34"), D("0.33"), D("0.33")]
    assert pricing.allocated_line_revenue([D("20.00"), D("10.00")], D("0.05")) == [
        D("19.97"), D("9.98")]
    assert pricing.allocate_discount([], D("0.00")) == []


def test_the_shares_always_add_up_to_the_discount_exactly():
    rng = random.Random(7)
    for _ in range(500):
        lines = [D(rng.randint(1, 50_000)) / 100 for _ in range(rng.randint(1, 6))]
        discount = D(rng.randint(0, int(sum(lines) * 100))) / 100
        shares = pricing.allocate_discount(lines, discount)
        assert sum(shares) == discount
        assert all(D("0") <= s <= line for s, line in zip(shares, lines, strict=True))


@pytest.mark.parametrize(("status", "counted"), [
    (OrderStatus.PLACED, False), (OrderStatus.PAID, True), (OrderStatus.SHIPPED, True),
    (OrderStatus.DELIVERED, True), (OrderStatus.CANCELLED, False)])
def test_paid_shipped_and_delivered_orders_are_counted(status, counted):
    assert Order.is_paid_status(status) is counted
    assert Order.is_paid_status(status.value) is counted


@pytest.mark.parametrize(("status", "counted"), [
    (OrderStatus.PLACED, False), (OrderStatus.PAID, True), (OrderStatus.SHIPPED, True),
    (OrderStatus.DELIVERED, True), (OrderStatus.CANCELLED, False)])
def test_an_order_brings_revenue_only_while_it_is_counted(status, counted):
    order = Order(status=status, total=D("12.34"))

    assert order.is_paid is counted
    assert order.revenue == (D("12.34") if counted else D("0.00"))


@pytest.mark.parametrize(("role", "erased", "customer"), [
    (Role.MEMBER, False, True), (Role.MEMBER, True, False),
    (Role.STAFF, False, False), (Role.ADMIN, False, False)])
def test_a_customer_is_a_member_whose_data_is_not_erased(role, erased, customer):
    member = Member(role=role, erased_at=datetime(2026, 1, 1, tzinfo=UTC) if erased else None)

    assert member.is_customer is customer
