"""Service cases: a customer's question or complaint, its thread of messages, and the visitor
contact requests waiting for their address to be confirmed.

A `SupportCase` belongs to a member, or to a visitor who confirmed their address (name and
email kept on the case). It may name an order and a book. Its status runs
new -> open -> waiting_on_customer -> resolved -> closed (a customer's answer takes it back to
open; the steps staff may take are `NEXT_STATUSES` in app.support.cases, a closed case may be
reopened; leaving resolved or closed clears `resolved_at` and `closed_at`); `due_at` is
`created_at` plus the target hours of its priority (CASE_TARGET_HOURS).
A case opened automatically (a low NPS answer, a one- or two-star review), or by a customer's
answer to a mail staff wrote them from their record (`RECORD_MAIL`), carries a `source_key`
naming what opened it, unique, so the same answer or mail never opens two cases.

A `CaseMessage` is one message of the thread: `in` from the customer, `out` from staff
(`author_id` the member who wrote it; None for a visitor).

A member's "Contact us" form, staff's "open a case" form and the staff reply form carry a
one-time key (`form_key`, unique on the row it created): the same form sent twice (a double
click) leads to the first case or reply.

A `ContactRequest` is a visitor's contact form waiting for the link mailed to the address:
no case exists until it is confirmed (double opt-in, like a visitor's demand).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Book
from app.core.db import utcnow
from app.core.extensions import db
from app.membership.models import Member
from app.ordering.models import Order

SUBJECT_MAX = 200
MESSAGE_MAX = 5000
NAME_MAX = 120


class CaseType(enum.StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"
    DAMAGED = "damaged"
    LATE = "late"
    WRONG_ITEM = "wrong_item"
    OTHER = "other"


class CasePriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class CaseStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class CaseSource(enum.StrEnum):
    MEMBER = "member"
    VISITOR = "visitor"
    STAFF = "staff"
    NPS = "nps"
    REVIEW = "review"
    RECORD_MAIL = "record_mail"  # the customer answered a mail written from their record


class Direction(enum.StrEnum):
    IN = "in"  # from the customer
    OUT = "out"  # from staff


def _enum(e: type[enum.Enum], length: int = 24) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=length,
                   values_callable=lambda x: [m.value for m in x])


class SupportCase(db.Model):
    __tablename__ = "support_case"
    __table_args__ = (
        sa.CheckConstraint("member_id IS NOT NULL OR visitor_email IS NOT NULL",
                           name="has_customer"),
        sa.CheckConstraint("csat_score IS NULL OR (csat_score >= 1 AND csat_score <= 5)",
                           name="csat_in_range"),
        sa.Index("ix_support_case_status_due", "status", "due_at"),
        sa.Index("ix_support_case_assignee_status", "assignee_id", "status"),
        sa.Index("ix_support_case_created", "created_at"),
        sa.Index("ix_support_case_due", "due_at", "id"),  # the queues' order
        # The one-time key of the form that opened it: sent twice, it opens one case.
        sa.Index("ix_support_case_form_key", "form_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"), index=True)
    visitor_name: Mapped[str | None] = mapped_column(sa.String(NAME_MAX))
    visitor_email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    book_id: Mapped[int | None] = mapped_column(sa.ForeignKey("book.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(sa.String(SUBJECT_MAX))
    case_type: Mapped[CaseType] = mapped_column(_enum(CaseType), default=CaseType.QUESTION)
    priority: Mapped[CasePriority] = mapped_column(_enum(CasePriority),
                                                   default=CasePriority.NORMAL)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.NEW)
    source: Mapped[CaseSource] = mapped_column(_enum(CaseSource), default=CaseSource.MEMBER)
    source_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    form_key: Mapped[str | None] = mapped_column(sa.String(64))
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    csat_score: Mapped[int | None]
    csat_at: Mapped[datetime | None]

    member: Mapped[Member | None] = relationship(foreign_keys=[member_id])
    assignee: Mapped[Member | None] = relationship(foreign_keys=[assignee_id])
    order: Mapped[Order | None] = relationship()
    book: Mapped[Book | None] = relationship()
    messages: Mapped[list[CaseMessage]] = relationship(
        back_populates="case", order_by="CaseMessage.id", cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"C-{self.id:06d}"

    @property
    def customer_email(self) -> str:
        return self.member.email if self.member is not None else (self.visitor_email or "")

    @property
    def customer_name(self) -> str:
        return self.member.name if self.member is not None else (self.visitor_name or "")

    def __repr__(self) -> str:
        return f"<SupportCase {self.id} {self.status} {self.priority}>"


class CaseMessage(db.Model):
    __tablename__ = "case_message"
    __table_args__ = (
        # The one-time key of the staff reply form that wrote it: sent twice, one reply.
        sa.Index("ix_case_message_form_key", "form_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("support_case.id", ondelete="CASCADE"),
                                         index=True)
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, 8))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    form_key: Mapped[str | None] = mapped_column(sa.String(64))

    case: Mapped[SupportCase] = relationship(back_populates="messages")
    author: Mapped[Member | None] = relationship()


class ContactRequest(db.Model):
    """A visitor's contact form, kept until the mailed link confirms the address (then it
    becomes a case and this row goes) or CASE_CONFIRM_HOURS pass."""

    __tablename__ = "contact_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    case_type: Mapped[CaseType] = mapped_column(_enum(CaseType))
    subject: Mapped[str] = mapped_column(sa.String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(sa.Text)
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
