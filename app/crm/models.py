"""The CRM side of members: the interaction log and tags on customers.

An `Interaction` is one contact a member of staff noted down (a phone call, an email, a visit,
a complaint or compliment), optionally with a follow-up date; `follow_up_done_at` closes it.
A `Tag` is a free label such as "teacher" or "wholesale"; `MemberTag` links it to members.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.extensions import db
from app.membership.models import Member


class InteractionKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    VISIT = "visit"
    COMPLAINT = "complaint"
    COMPLIMENT = "compliment"
    OTHER = "other"


class TaskPriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Interaction(db.Model):
    """One noted contact with a customer, written by a member of staff.

    A note with a follow-up date is a task: `assignee` (any staff member; the author unless
    someone else is named) is to do it by `follow_up_on`, with a `priority` and an optional
    `task_note` saying what to do; `follow_up_done_at` closes it (and reopening clears it).
    The author may edit the note (`edited_at`) or delete it; both are audited.
    """

    __table_args__ = (
        sa.Index("ix_interaction_member_created", "member_id", "created_at"),
        sa.Index("ix_interaction_follow_up", "follow_up_on", "follow_up_done_at"),
        sa.Index("ix_interaction_assignee_open", "assignee_id", "follow_up_done_at",
                 "follow_up_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"))
    # Who wrote it (kept as NULL if that account is ever deleted).
    staff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"), index=True)
    kind: Mapped[InteractionKind] = mapped_column(
        sa.Enum(InteractionKind, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e]))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    follow_up_on: Mapped[date | None] = mapped_column(sa.Date)
    follow_up_done_at: Mapped[datetime | None]
    follow_up_done_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    priority: Mapped[TaskPriority] = mapped_column(
        sa.Enum(TaskPriority, native_enum=False, length=8,
                values_callable=lambda e: [m.value for m in e]),
        default=TaskPriority.NORMAL, server_default=TaskPriority.NORMAL.value)
    task_note: Mapped[str | None] = mapped_column(sa.String(500))
    edited_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    assignee: Mapped[Member | None] = relationship(foreign_keys=[assignee_id])
    staff: Mapped[Member | None] = relationship(foreign_keys=[staff_id])
    follow_up_done_by: Mapped[Member | None] = relationship(foreign_keys=[follow_up_done_by_id])

    @property
    def follow_up_open(self) -> bool:
        return self.follow_up_on is not None and self.follow_up_done_at is None

    def __repr__(self) -> str:
        return f"<Interaction {self.id} {self.kind} member={self.member_id}>"


class Tag(db.Model):
    """A label on customers. `key` is the folded name, unique, so "Teacher" and "teacher" are
    one tag."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class MemberTag(db.Model):
    """A tag on one member. The (tag_id, member_id) index serves the list's tag filter."""

    __tablename__ = "member_tag"
    __table_args__ = (sa.Index("ix_member_tag_tag_member", "tag_id", "member_id"),)

    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))

    tag: Mapped[Tag] = relationship()


class MailTemplate(db.Model):
    """A saved message staff start a mail to a customer from: one row per name and language.
    Its subject and body may hold the placeholders of app.crm.customer_mail."""

    __tablename__ = "customer_mail_template"
    __table_args__ = (
        sa.UniqueConstraint("name", "locale", name="uq_customer_mail_template_name_locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    locale: Mapped[str] = mapped_column(sa.String(16))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CustomerView(db.Model):
    """A saved set of the customer list's filters (`query`, a query string of the filter
    form's keys), private to its owner or shared with every member of staff."""

    __tablename__ = "customer_view"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"), index=True)
    shared: Mapped[bool] = mapped_column(default=False)
    query: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
