"""Carts and orders. Order lines snapshot what was sold, at what price, so history never moves."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Book
from app.core.db import Money, Rate, utcnow
from app.core.extensions import db
from app.core.money import from_cents
from app.membership.models import Member


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


class OrderChannel(enum.StrEnum):
    """Where an order was taken: the shop's website, or the call centre on the phone."""

    WEB = "web"
    PHONE = "phone"


class Cart(db.Model):
    """A member's saved cart. Anonymous carts live in the session instead."""

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(db.Model):
    __table_args__ = (
        sa.UniqueConstraint("cart_id", "book_id", name="uq_cart_line_cart_book"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(sa.ForeignKey("cart.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id"))
    quantity: Mapped[int]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    book: Mapped[Book] = relationship()


class Order(db.Model):
    """A placed order: its lines, money and address are snapshots taken at checkout.

    What every figure of the shop counts is defined here, once:

    - PAID: an order is counted when its status is paid, shipped or delivered
      (`PAID_STATUSES`, `is_paid`, `is_paid_status`). An order placed but not paid yet, and a
      cancelled one, count nowhere: not in revenue, grades, top sellers, campaigns, lifetime
      value, segments, basket associations, satisfaction or the demo seed's grades.
    - REVENUE (`revenue`): what the member paid for a paid order and kept paid: its total
      after the member discount, shipping included, minus what was refunded on it
      (`refunded_cents`, raised by `app.returns.refunds` under the order's row lock); nothing
      for any other order (SQL: NULL, so sums and counts skip it). Revenue over a set of orders
      is `revenue_sum()` (`revenue_cents()` in integer cents). Every figure of the shop that
      counts money taken (the dashboard, campaign uplift, lifetime value, customer figures,
      qualifying spend for grades) reads it from here, so a refund lowers each of them.
    """

    PAID_STATUSES: ClassVar[tuple[OrderStatus, ...]] = (
        OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)

    __tablename__ = "orders"
    __table_args__ = (
        sa.Index("ix_orders_member_placed", "member_id", "placed_at"),
        sa.Index("ix_orders_email", "email"),  # the admin order search by address (a prefix)
        # A checkout form's one-time key places one order per member, under any race.
        sa.Index("ix_orders_member_checkout_key", "member_id", "checkout_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id"))
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), default=OrderStatus.PLACED,
                                                index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    payment_method: Mapped[str] = mapped_column(sa.String(32))

    ship_name: Mapped[str] = mapped_column(sa.String(120))
    ship_line1: Mapped[str] = mapped_column(sa.String(200))
    ship_line2: Mapped[str | None] = mapped_column(sa.String(200))
    ship_city: Mapped[str] = mapped_column(sa.String(100))
    ship_region: Mapped[str | None] = mapped_column(sa.String(100))
    ship_postcode: Mapped[str] = mapped_column(sa.String(20))
    ship_country: Mapped[str] = mapped_column(sa.String(60))
    ship_phone: Mapped[str | None] = mapped_column(sa.String(40))

    subtotal: Mapped[Decimal]
    discount_total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    shipping_fee: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    total: Mapped[Decimal]
    tier_code: Mapped[str] = mapped_column(sa.String(32), default="regular")
    discount_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0"))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    # What was refunded on the order in all, in cents (never more than `total`: the refund
    # service raises it under the order's row lock).
    refunded_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    # The one-time key of the checkout form that placed the order (None: placed otherwise,
    # e.g. by the seed); a form submitted again leads to this order.
    checkout_key: Mapped[str | None] = mapped_column(sa.String(64))
    # Where it was taken (web, phone), and for a phone order the staff member who took it.
    channel: Mapped[OrderChannel] = mapped_column(
        _enum(OrderChannel), default=OrderChannel.WEB, server_default=OrderChannel.WEB.value)
    placed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))

    placed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    placed_by: Mapped[Member | None] = relationship(foreign_keys=[placed_by_id])
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )

    @property
    def number(self) -> str:
        """The reference shoppers and staff quote, e.g. BS-0000123."""
        return Order.number_for(self.id)

    @staticmethod
    def number_for(order_id: int) -> str:
        """The order reference for an order id (BS- and seven digits), where only the id is at
        hand; the `order_number` template filter."""
        return f"BS-{order_id:07d}"

    @staticmethod
    def is_paid_status(status: OrderStatus | str) -> bool:
        """Whether an order in `status` is counted (paid, shipped or delivered)."""
        return OrderStatus(status) in Order.PAID_STATUSES

    @hybrid_property
    def is_paid(self) -> bool:
        """The order is counted (paid, shipped or delivered); in SQL too."""
        return Order.is_paid_status(self.status)

    @is_paid.inplace.expression
    @classmethod
    def _is_paid_expression(cls) -> sa.ColumnElement[bool]:
        return cls.status.in_(cls.PAID_STATUSES)

    @property
    def refunded(self) -> Decimal:
        """What was refunded on the order in all."""
        return from_cents(self.refunded_cents or 0)

    @property
    def refundable(self) -> Decimal:
        """What may still be refunded: the total of a paid order minus what was refunded."""
        return self.total - self.refunded if self.is_paid else Decimal("0.00")

    @hybrid_property
    def revenue(self) -> Decimal:
        """The order's revenue: its total minus refunds if it is paid, else nothing (0.00;
        NULL in SQL)."""
        return self.total - self.refunded if self.is_paid else Decimal("0.00")

    @revenue.inplace.expression
    @classmethod
    def _revenue_expression(cls) -> sa.ColumnElement[Decimal]:
        # Money is integer cents in the database: cents minus cents, read back as Money.
        net = sa.type_coerce(sa.type_coerce(cls.total, sa.BigInteger) - cls.refunded_cents,
                             Money())
        return sa.case((cls.is_paid, net))

    @classmethod
    def revenue_sum(cls) -> sa.ColumnElement[Decimal]:
        """SQL aggregate: the revenue of the paid orders among the rows (NULL when none)."""
        return sa.func.sum(cls.revenue)

    @classmethod
    def revenue_cents(cls) -> sa.ColumnElement[int]:
        """SQL: `revenue` as integer cents (exact sums, numpy inputs)."""
        return sa.type_coerce(cls.revenue, sa.BigInteger)


class OrderLine(db.Model):
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    authors: Mapped[str] = mapped_column(sa.String(500))
    unit_price: Mapped[Decimal]
    quantity: Mapped[int]
    line_total: Mapped[Decimal]

    order: Mapped[Order] = relationship(back_populates="lines")
    book: Mapped[Book] = relationship()


class OrderEvent(db.Model):
    """Who moved an order from one status to another, and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[OrderStatus | None] = mapped_column(_enum(OrderStatus))
    to_status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id"))
    note: Mapped[str | None] = mapped_column(sa.String(500))

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[Member | None] = relationship()
