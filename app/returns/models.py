"""Returns and refunds: a member (or staff) asks to return lines of an order; staff approve or
reject it, receive the copies (back to stock, or not) and refund; a refund may also stand alone.

Money is exact: `Decimal` in Python, integer cents in the database (`app.core.db.Money`). What
an order has been refunded in all is kept on the order itself (`Order.refunded_cents`, raised
under the order's row lock by `app.returns.refunds`), so revenue is one column away.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.extensions import db
from app.membership.models import Member
from app.ordering.models import Order, OrderLine


class ReturnStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


class ReturnReason(enum.StrEnum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_described"
    ARRIVED_LATE = "late"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"


class Restock(enum.StrEnum):
    RESALEABLE = "resaleable"  # back on the shelf, through a stock receipt
    DAMAGED = "damaged"  # written off


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


class ReturnRequest(db.Model):
    """A request to return some copies of one order, and where it stands."""

    __tablename__ = "return_request"
    __table_args__ = (sa.Index("ix_return_request_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), index=True)
    status: Mapped[ReturnStatus] = mapped_column(_enum(ReturnStatus),
                                                 default=ReturnStatus.REQUESTED)
    reason: Mapped[ReturnReason] = mapped_column(_enum(ReturnReason))
    # What the member (or staff for them) wrote about it: personal data (export, erasure).
    details: Mapped[str | None] = mapped_column(sa.String(1000))
    reject_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Who opened it: the member themself, or a member of staff for them (opened_by_staff).
    opened_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    opened_by_staff: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    opened_by: Mapped[Member | None] = relationship(foreign_keys=[opened_by_id])
    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnLine.id")
    refunds: Mapped[list[Refund]] = relationship(back_populates="request",
                                                 order_by="Refund.id")

    @property
    def number(self) -> str:
        """The reference shown to members and staff, e.g. R-0000042."""
        return f"R-{self.id:07d}"

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


class ReturnLine(db.Model):
    """Copies of one order line asked back, and, once received, what became of them."""

    __tablename__ = "return_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("received_quantity IS NULL OR (received_quantity >= 0 "
                           "AND received_quantity <= quantity)", name="received_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(
        sa.ForeignKey("return_request.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(
        sa.ForeignKey("order_line.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int]
    restock: Mapped[Restock | None] = mapped_column(_enum(Restock))
    received_quantity: Mapped[int | None]

    request: Mapped[ReturnRequest] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()


class Refund(db.Model):
    """Money given back on an order: its parts (lines, shipping, goodwill) add up to `amount`.
    Recorded through the order's payment method (`app.ordering.payment`); `how` is what the
    method says was done (offline: who paid it back and how)."""

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("amount = lines_amount + shipping_amount + goodwill_amount",
                           name="parts_add_up"),
        sa.CheckConstraint("lines_amount >= 0 AND shipping_amount >= 0 AND goodwill_amount >= 0",
                           name="parts_not_negative"),
        sa.Index("ix_refund_created_at", "created_at"),
        # A refund form's one-time key records one refund per order, however often it is sent.
        sa.Index("ix_refund_order_form_key", "order_id", "form_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    return_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("return_request.id", ondelete="SET NULL"), index=True)
    amount: Mapped[Decimal]
    lines_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    shipping_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    goodwill_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    payment_method: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id", ondelete="SET NULL"))
    how: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    # The one-time key of the staff form that made it (None: made otherwise).
    form_key: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship()
    request: Mapped[ReturnRequest | None] = relationship(back_populates="refunds")
    actor: Mapped[Member | None] = relationship()
