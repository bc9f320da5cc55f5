"""What the shop's figures count: each definition written once, here, and used by every figure.

- PAID ORDER (a "counted" order): an order whose status is paid, shipped or delivered
  (`PAID_STATUSES`, SQL `is_paid()`). An order placed but not paid yet, and a cancelled order,
  are not counted anywhere: not in revenue, grades, top sellers, campaigns, CLV inputs,
  segments, basket associations, loyalty or the demo seed's grades.
- REVENUE of an order (`order_revenue()`): what the member paid for it: its total after the
  member discount, shipping included (`Order.total`), counted only when the order is paid.
  Revenue over a set of orders is the sum of `order_revenue()` over its paid orders
  (`revenue_sum()`). Refunds do not exist yet; when they do, "net of refunds" is subtracted in
  `order_revenue()` and every figure follows.
- LINE REVENUE (`allocated_line_revenue`): the part of an order's revenue that a line brought
  in: its list total minus its share of the order's discount. The discount is shared in
  proportion to the lines' list totals, in whole cents, largest remainder first (ties to the
  earlier line), so the lines of an order add up exactly to its goods after discount, and the
  lines plus the shipping fee add up to its revenue.
- CUSTOMER (`is_customer()`): an account with the role member whose personal data has not
  been erased. Staff and admins shop too, but they are not customers in any figure; an erased
  account is nobody's customer any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa

from app.core.money import from_cents, to_cents
from app.membership.models import Member, Role
from app.ordering.models import Order, OrderStatus

PAID_STATUSES: tuple[OrderStatus, ...] = (OrderStatus.PAID, OrderStatus.SHIPPED,
                                          OrderStatus.DELIVERED)


def is_paid_status(status: OrderStatus | str) -> bool:
    """Whether an order in `status` is counted (paid, shipped or delivered)."""
    return OrderStatus(status) in PAID_STATUSES


def is_paid() -> sa.ColumnElement[bool]:
    """SQL: the order is counted (paid, shipped or delivered)."""
    return Order.status.in_(PAID_STATUSES)


def order_revenue() -> sa.ColumnElement[Decimal]:
    """SQL: the revenue of one order, for use where `is_paid()` holds (after the member
    discount, shipping included). The one place where refunds will be netted off."""
    return Order.total


def order_revenue_cents() -> sa.ColumnElement[int]:
    """SQL: `order_revenue()` as integer cents (exact sums, numpy inputs)."""
    return sa.type_coerce(order_revenue(), sa.BigInteger)


def revenue_sum() -> sa.ColumnElement[Decimal]:
    """SQL aggregate: the revenue of the paid orders among the rows (NULL when none)."""
    return sa.func.sum(sa.case((is_paid(), order_revenue())))


def is_customer() -> sa.ColumnElement[bool]:
    """SQL: the account is a customer (role member, personal data not erased)."""
    return sa.and_(Member.role == Role.MEMBER, Member.erased_at.is_(None))


def allocate_discount(line_totals: Sequence[Decimal], discount: Decimal) -> list[Decimal]:
    """Each line's share of an order's `discount`, in proportion to its list total, in whole
    cents: every line gets the floor of its exact share, then the cents left over go one each
    to the lines with the largest remainders (ties: the earlier line). The shares add up to
    `discount` exactly. The same rule as the SQL in `app.crm.stats.top_sellers`."""
    cents = [to_cents(t) for t in line_totals]
    whole = to_cents(discount)
    subtotal = sum(cents)
    if not subtotal:
        return [from_cents(0) for _ in cents]
    shares = [c * whole // subtotal for c in cents]
    remainders = [c * whole % subtotal for c in cents]
    left = whole - sum(shares)
    for index in sorted(range(len(cents)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return [from_cents(s) for s in shares]


def allocated_line_revenue(line_totals: Sequence[Decimal], discount: Decimal) -> list[Decimal]:
    """What each line brought in: its list total minus its share of the discount."""
    return [t - d for t, d in zip(line_totals, allocate_discount(line_totals, discount),
                                  strict=True)]
