"""The outbox: every email the shop sends is a row here first, and the admin's mail log."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.extensions import db


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a sender (maybe after a failed attempt)
    SENT = "sent"
    # Gave up: refused by the server MAIL_MAX_ATTEMPTS times, or still undelivered
    # MAIL_GIVE_UP_AFTER after it was queued. Staff may resend (one or a whole filter).
    FAILED = "failed"
    CANCELLED = "cancelled"  # no longer wanted at send time (opt-out, cancelled demand)


class OutboxMail(db.Model):
    """One email. Written in the business transaction; a sender delivers it after commit."""

    __table_args__ = (sa.Index("ix_outbox_mail_due", "status", "next_attempt_at"),
                      # the dashboard's "is the mail server refusing?" check
                      sa.Index("ix_outbox_mail_last_attempt_at", "last_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    # Two rows with one key are one email: the unique index is what makes "exactly once" hold.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    to_email: Mapped[str] = mapped_column(sa.String(254))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    headers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[MailStatus] = mapped_column(
        sa.Enum(MailStatus, native_enum=False, length=16,
                values_callable=lambda e: [m.value for m in e]),
        default=MailStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # The latest delivery attempt, sent or failed (None: never tried).
    last_attempt_at: Mapped[datetime | None]
    # When staff queued it again; retries give up MAIL_GIVE_UP_AFTER after this (or after
    # created_at when it was never requeued).
    requeued_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    message_id: Mapped[str] = mapped_column(sa.String(200))
