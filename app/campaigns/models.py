"""Campaigns: an email to an audience, with a random hold-out that gets nothing.

A `Campaign` is drafted (audience, subject, message), previewed, then sent once. Sending
writes one `CampaignRecipient` per member of the audience: "mailed" (an outbox row was queued),
"holdout" (drawn at random with the campaign's own seed, so the draw can be repeated) or
"opted_out" (mail_opt_in off: counted, never mailed, and not part of the comparison). The
campaign page compares orders and revenue per member, mailed vs hold-out (the uplift).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Rate, utcnow
from app.core.extensions import db
from app.membership.models import Member


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"


class RecipientGroup(enum.StrEnum):
    MAILED = "mailed"
    HOLDOUT = "holdout"
    OPTED_OUT = "opted_out"


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


class Campaign(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    # Audience: "all", "segment" (RFM segment code), "tier" (grade code), plus the value; or
    # "list": the customers staff chose (CampaignListMember), no value.
    audience_kind: Mapped[str] = mapped_column(sa.String(16), default="all")
    audience_value: Mapped[str | None] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.Text)
    holdout_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0.1"))
    holdout_seed: Mapped[int]
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus),
                                                   default=CampaignStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id", ondelete="SET NULL"))
    mailed_count: Mapped[int] = mapped_column(default=0)
    holdout_count: Mapped[int] = mapped_column(default=0)
    opted_out_count: Mapped[int] = mapped_column(default=0)

    created_by: Mapped[Member | None] = relationship(foreign_keys=[created_by_id])
    sent_by: Mapped[Member | None] = relationship(foreign_keys=[sent_by_id])

    @property
    def is_draft(self) -> bool:
        return self.status is CampaignStatus.DRAFT


class CampaignRecipient(db.Model):
    __table_args__ = (sa.Index("ix_campaign_recipient_campaign_group", "campaign_id", "group"),)

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"),
                                           primary_key=True)
    group: Mapped[RecipientGroup] = mapped_column(_enum(RecipientGroup))
    outbox_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbox_mail.id", ondelete="SET NULL"))


class CampaignListMember(db.Model):
    """A customer staff chose for a campaign whose audience is a chosen list ("list"), added
    from the customer list (app.crm.customer_views.bulk_campaign). One row per campaign and
    member; the audience is still only the active customers among them."""

    __tablename__ = "campaign_list_member"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
