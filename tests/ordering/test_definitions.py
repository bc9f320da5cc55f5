"""The shop's definitions (app.ordering.definitions): the discount shared over an order's lines
adds up to the cent, and the paid statuses are the counted ones."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.models import OrderStatus
from app.ordering import definitions

D = Decimal


def test_a_discount_is_shared_in_proportion_largest_remainder_first():
    assert definitions.allocate_discount([D("20.00"), D("10.00")], D("0.05")) == [
        D("0.03"), D("0.02")]
    assert definitions.allocate_discount([D("10.00")] * 3, D("1.00")) == [
        D("0.34"), D("0.33"), D("0.33")]
    assert definitions.allocated_line_revenue([D("20.00"), D("10.00")], D("0.05")) == [
        D("19.97"), D("9.98")]
    assert definitions.allocate_discount([], D("0.00")) == []


def test_the_shares_always_add_up_to_the_discount_exactly():
    rng = random.Random(7)
    for _ in range(500):
        lines = [D(rng.randint(1, 50_000)) / 100 for _ in range(rng.randint(1, 6))]
        discount = D(rng.randint(0, int(sum(lines) * 100))) / 100
        shares = definitions.allocate_discount(lines, discount)
        assert sum(shares) == discount
        assert all(D("0") <= s <= line for s, line in zip(shares, lines, strict=True))


@pytest.mark.parametrize(("status", "counted"), [
    (OrderStatus.PLACED, False), (OrderStatus.PAID, True), (OrderStatus.SHIPPED, True),
    (OrderStatus.DELIVERED, True), (OrderStatus.CANCELLED, False)])
def test_paid_shipped_and_delivered_orders_are_counted(status, counted):
    assert definitions.is_paid_status(status) is counted
    assert definitions.is_paid_status(status.value) is counted
