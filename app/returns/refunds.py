"""Refunds: money given back on a paid order, whole or in part, never more than was paid.

A refund has parts -- copies returned (`lines`), the shipping fee (`shipping`), a goodwill
amount (`goodwill`) -- that add up to its amount, each exact to the cent. It is recorded
through the order's payment method (`PaymentMethod.refund`: offline methods record who paid
it back and how) and raises `Order.refunded_cents`, from which revenue, lifetime spend and
qualifying spend are netted (`Order.revenue`).

Two members of staff refunding one order at once cannot refund more than was paid: the order
row is read under a row lock (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has one writer)
before anything is checked, and the raise itself is a conditional UPDATE
(`WHERE refunded_cents + :amount <= total`) that refuses what the lock should already have
refused. Then, in the same transaction: `order_refunded` for the features above (the CRM's
lifetime spend), the member re-graded (`grades.member_regrade.on_order_refunded`, per
REFUND_GRADE_POLICY), the audit entry and the member's mail. Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.formatting import money
from app.core.money import ZERO, round_money, to_cents
from app.core.signals import order_refunded
from app.grades.member_regrade import on_order_refunded
from app.membership.models import Member
from app.ordering import payment
from app.ordering.models import Order, OrderLine
from app.ordering.pricing import allocated_line_revenue
from app.returns import notices
from app.returns.models import Refund, ReturnRequest

NOTE_MAX = 500


class RefundRefused(DomainError):
    """A refund that cannot be made (too much, nothing, an order not paid)."""


def lock_order(order_id: int) -> Order:
    """The order, re-read under its row lock (FOR UPDATE on PostgreSQL; SQLite has one
    writer). Everything read after this sees every refund committed before the lock."""
    order = db.session.scalar(
        sa.select(Order).where(Order.id == order_id).with_for_update()
        .execution_options(populate_existing=True))
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


def _part(value: object) -> Decimal:
    if value is None:
        return ZERO
    if not isinstance(value, Decimal) or not value.is_finite():
        raise RefundRefused(_("Enter amounts such as 12.50."))
    if value < 0:
        raise RefundRefused(_("A refund's amounts cannot be negative."))
    if round_money(value) != value:
        raise RefundRefused(_("Enter amounts to the cent, such as 12.50."))
    return value


def lines_value(order: Order, quantities: Mapping[int, int]) -> Decimal:
    """What the given copies of the order's lines ({order line id: copies}) brought in: each
    line's total after its share of the member discount, per copy, rounded once per line."""
    lines: list[OrderLine] = list(order.lines)
    shares = allocated_line_revenue([line.line_total for line in lines], order.discount_total)
    value = ZERO
    for line, share in zip(lines, shares, strict=True):
        copies = quantities.get(line.id, 0)
        if copies:
            value += round_money(share * copies / line.quantity)
    return value


def shipping_refunded(order_id: int) -> Decimal:
    """What was refunded of the order's shipping fee so far."""
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Refund.shipping_amount), 0))
        .where(Refund.order_id == order_id)) or ZERO


def refund_order(order: Order | int, *, lines: Decimal | None = None,
                 shipping: Decimal | None = None, goodwill: Decimal | None = None,
                 actor: Member | None, note: str | None = None,
                 return_request: ReturnRequest | None = None,
                 now: datetime | None = None, form_key: str | None = None) -> Refund:
    """Refund `lines + shipping + goodwill` on a paid order; returns the recorded Refund.

    `form_key` is the one-time key of the staff form: a form sent again (a double click, a
    reload) finds the refund it already made, under the order's lock, and makes no other.

    Raises RefundRefused (nothing is written) for an order not paid (or cancelled), amounts
    that are negative, finer than a cent or all zero, a shipping part beyond the shipping fee
    not yet refunded, or an amount beyond what was paid minus what was already refunded.
    """
    parts = (_part(lines), _part(shipping), _part(goodwill))
    amount = sum(parts, ZERO)
    if amount <= 0:
        raise RefundRefused(_("Enter an amount to refund."))
    note = " ".join((note or "").split())[:NOTE_MAX] or None
    now = now or utcnow()
    order = lock_order(order if isinstance(order, int) else order.id)
    form_key = (form_key or "").strip()[:64] or None
    if form_key is not None:
        done = db.session.scalar(sa.select(Refund).where(Refund.order_id == order.id,
                                                         Refund.form_key == form_key))
        if done is not None:
            return done
    if not order.is_paid:
        raise RefundRefused(_("Only a paid order can be refunded; order %(number)s is not.",
                              number=order.number))
    left = order.refundable
    if amount > left:
        raise RefundRefused(_("At most %(left)s is left to refund on order %(number)s.",
                              left=money(left), number=order.number))
    if parts[1] > order.shipping_fee - shipping_refunded(order.id):
        raise RefundRefused(_("The shipping part is more than the shipping fee not yet "
                              "refunded."))
    method = payment.METHODS.get(order.payment_method)
    if method is None:
        raise RefundRefused(_("Order %(number)s was paid in a way we cannot refund here.",
                              number=order.number))
    cents = to_cents(amount)
    result = db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.is_paid,
               Order.refunded_cents + cents <= sa.type_coerce(Order.total, sa.BigInteger))
        .values(refunded_cents=Order.refunded_cents + cents)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # the lock makes this unreachable; kept as the last word
        raise RefundRefused(_("Order %(number)s was refunded by someone else meanwhile; "
                              "please look again.", number=order.number))
    db.session.refresh(order, ["refunded_cents"])
    # The payout last, once the raise went through (a gateway is never asked for a refund the
    # database then refuses).
    outcome = method.refund(order, amount, actor=actor, note=note)

    refund = Refund(order_id=order.id, return_id=return_request.id if return_request else None,
                    amount=amount, lines_amount=parts[0], shipping_amount=parts[1],
                    goodwill_amount=parts[2], payment_method=order.payment_method,
                    actor_id=actor.id if actor is not None else None, how=outcome.how,
                    note=note, form_key=form_key, created_at=now)
    db.session.add(refund)
    db.session.flush()
    order_refunded.send(order, refund=refund, actor=actor)
    on_order_refunded(order, refund.id, actor=actor, now=now,
                      note=f"Refund #{refund.id} of {amount:.2f} on {order.number}")
    if actor is not None:
        audit.record(actor.id, actor.email, "order.refund", refund,
                     after={"order": order.number, "amount": amount, "lines": parts[0],
                            "shipping": parts[1], "goodwill": parts[2],
                            "return": return_request.number if return_request else None,
                            "how": outcome.how},
                     summary=f"{order.number}: refunded {amount:.2f}")
    notices.refunded(refund, order)
    return refund


def refunds_of(order_id: int) -> list[Refund]:
    return list(db.session.scalars(
        sa.select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)))

