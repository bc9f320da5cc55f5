"""Member grades: the tier table the admin edits, and every grade change recorded.

Members hold their grade as `Member.tier_code` (a code, not a foreign key: a tier removed
from the table must not delete or block anyone; re-grading moves its members on). Orders
snapshot the code and rate applied at checkout, so later table changes never alter them.
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


class Tier(db.Model):
    """One row of the tier table: members whose qualifying spend reached `min_spend` get
    `discount_rate` (0.05 = 5 %) off the goods subtotal. `position` is the row's place in the
    table (0 = the entry tier, thresholds ascending)."""

    __table_args__ = (
        sa.CheckConstraint("min_spend >= 0", name="min_spend_not_negative"),
        sa.CheckConstraint("discount_rate >= 0 AND discount_rate <= 10000",
                           name="discount_rate_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    min_spend: Mapped[Decimal]
    discount_rate: Mapped[Decimal] = mapped_column(Rate())
    perks: Mapped[str | None] = mapped_column(sa.String(500))
    position: Mapped[int] = mapped_column(default=0)
    # The name (and perks) in languages other than English; `name` and `perks` are the English
    # ones and the fallback. Pages read them through `app.grades.table.load_rules`.
    translations: Mapped[list[TierName]] = relationship(
        back_populates="tier", cascade="all, delete-orphan", order_by="TierName.locale")

    def __repr__(self) -> str:
        return f"<Tier {self.code} from {self.min_spend} at {self.discount_rate}>"


class TierName(db.Model):
    """A tier's name, and optionally its perks, in one language other than English (one row
    per tier and language). A missing or empty one shows the English text in that language."""

    __tablename__ = "tier_name"
    __table_args__ = (sa.UniqueConstraint("tier_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tier_id: Mapped[int] = mapped_column(sa.ForeignKey("tier.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str | None] = mapped_column(sa.String(60))
    perks: Mapped[str | None] = mapped_column(sa.String(500))

    tier: Mapped[Tier] = relationship(back_populates="translations")


class GradeReason(enum.StrEnum):
    ORDER_PAID = "order_paid"
    ORDER_CANCELLED = "order_cancelled"
    REFUND = "refund"
    ADMIN = "admin"
    TABLE_CHANGE = "table_change"
    RECOMPUTE = "recompute"


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


class GradeChange(db.Model):
    """A member moved from one grade to another (or an admin pinned one), when and why.

    Names are snapshotted beside the codes so the history still reads right after the table
    is edited. `spend` is the qualifying spend at that moment.
    """

    __table_args__ = (sa.Index("ix_grade_change_member_at", "member_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"))
    from_code: Mapped[str | None] = mapped_column(sa.String(32))
    from_name: Mapped[str | None] = mapped_column(sa.String(60))
    to_code: Mapped[str] = mapped_column(sa.String(32))
    to_name: Mapped[str] = mapped_column(sa.String(60))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[GradeReason] = mapped_column(_enum(GradeReason))
    spend: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("member.id", ondelete="SET NULL"))
    # The refund that moved the grade (reason "refund"; app.returns).
    refund_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("refund.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(sa.String(500))

    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    actor: Mapped[Member | None] = relationship(foreign_keys=[actor_id])

