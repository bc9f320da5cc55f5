"""Qualifying spend: what counts towards a member's grade.

QUALIFYING SPEND is the sum of `Order.revenue` -- what the member paid, AFTER their member
discount, shipping included, minus what was refunded -- over their orders that are paid,
shipped or delivered (`Order.is_paid`). Orders still waiting for payment and cancelled orders
do not count. With a grade window (`settings.window_months`) only orders paid in the window
count, by `paid_at` (`placed_at` for an order paid without one). Sums are exact: they add
integer cents.

SPEND BEFORE REFUNDS (`spend_before_refunds`) is the same sum with refunds left in: under
REFUND_GRADE_POLICY="keep" it is the floor below which no regrade lowers the grade
(`grading.decide_grade`'s `floor_spend`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from app.core.extensions import db
from app.core.money import from_cents
from app.grades.settings import window_start
from app.membership.models import Member
from app.ordering.models import Order


def cents(column: sa.ColumnElement) -> sa.ColumnElement[int]:
    """A Money column as its raw integer cents, for exact SUMs and set-based comparisons."""
    return sa.type_coerce(column, sa.BigInteger)


def qualifying(stmt: sa.Select, since: datetime | None) -> sa.Select:
    """`stmt` over `Order` narrowed to the orders that count from `since` (None: all time)."""
    stmt = stmt.where(Order.is_paid)
    if since is not None:
        stmt = stmt.where(sa.func.coalesce(Order.paid_at, Order.placed_at) >= since)
    return stmt


def qualifying_spend(member: Member | int, now: datetime | None = None) -> Decimal:
    """The member's qualifying spend now: revenue (totals after discount, minus refunds) of
    paid, shipped and delivered orders in the window."""
    member_id = member if isinstance(member, int) else member.id
    stmt = qualifying(
        sa.select(sa.func.coalesce(sa.func.sum(Order.revenue_cents()), 0))
        .where(Order.member_id == member_id),
        window_start(now),
    )
    return from_cents(int(db.session.scalar(stmt) or 0))


def spend_before_refunds(member: Member | int, now: datetime | None = None) -> Decimal:
    """The member's qualifying spend as if nothing had been refunded: the totals (after
    discount) of paid, shipped and delivered orders in the window."""
    member_id = member if isinstance(member, int) else member.id
    stmt = qualifying(
        sa.select(sa.func.coalesce(sa.func.sum(cents(Order.total)), 0))
        .where(Order.member_id == member_id),
        window_start(now),
    )
    return from_cents(int(db.session.scalar(stmt) or 0))
