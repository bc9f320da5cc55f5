"""Analytics snapshots (classification and lifetime value).

`flask analytics recompute` (app.analytics.snapshots) writes one `AnalyticsRun` and,
under it, everything the analysis pages read: one `MemberSnapshot` row per member (RFM scores,
segment, BG/NBD probability of being active, Gamma-Gamma spend, CLV), the monthly segment sizes
(`SegmentMonth`), the month-to-month segment moves (`SegmentTransition`) and customer equity by
segment and by tier (`SegmentSummary`). Pages never compute: they read the latest finished run.
Only the latest finished run keeps its member rows (the older ones are deleted when a run
finishes); run rows and their small aggregates stay as a history.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.extensions import db


class RunStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AnalyticsRun(db.Model):
    """One recompute: when it was asked for, ran and finished, as of when, how long each step
    took (`timings`, seconds by step) and the fitted model (`model`: BG/NBD r, alpha, a, b;
    Gamma-Gamma p, q, gamma; discount rate, horizon)."""

    __tablename__ = "analytics_run"
    __table_args__ = (sa.Index("ix_analytics_run_status_as_of", "status", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=RunStatus.QUEUED)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    as_of: Mapped[datetime | None]
    members: Mapped[int] = mapped_column(default=0)
    buyers: Mapped[int] = mapped_column(default=0)
    timings: Mapped[dict | None] = mapped_column(sa.JSON)
    model: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.String(500))


class MemberSnapshot(db.Model):
    """One member as of a run. Members without a paid order have segment `prospect`, no scores
    and no CLV. `p_alive_prev` is the probability of being active one month before `as_of`
    (same fitted model), so a fall shows at once; both are NULL for one-time buyers. `at_risk`
    marks valuable members slipping away (the rules: app.analytics.snapshots)."""

    __tablename__ = "analytics_member"
    __table_args__ = (
        sa.Index("ix_analytics_member_run_segment", "run_id", "segment"),
        sa.Index("ix_analytics_member_run_at_risk", "run_id", "at_risk", "clv"),
        sa.Index("ix_analytics_member_member_id", "member_id"),
    )

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("analytics_run.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True)
    tier_code: Mapped[str] = mapped_column(sa.String(32))
    segment: Mapped[str] = mapped_column(sa.String(24))
    recency_days: Mapped[int | None]
    frequency: Mapped[int] = mapped_column(default=0)
    monetary: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    r_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    f_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    m_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    repeat_transactions: Mapped[int] = mapped_column(default=0)
    p_alive: Mapped[float | None] = mapped_column(sa.Float)
    p_alive_prev: Mapped[float | None] = mapped_column(sa.Float)
    expected_purchases: Mapped[float | None] = mapped_column(sa.Float)
    expected_spend: Mapped[Decimal | None]
    clv: Mapped[Decimal | None]
    at_risk: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    @property
    def one_purchase(self) -> bool:
        """A buyer on one day only: too little history for a probability of being active."""
        return self.frequency > 0 and self.repeat_transactions == 0


class SegmentMonth(db.Model):
    """Segment sizes at the start of `month` (as of 00:00 UTC on its first day), rebuilt from the
    order history on each run; `monetary` is the members' spend up to then."""

    __tablename__ = "analytics_segment_month"

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("analytics_run.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    segment: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    members: Mapped[int] = mapped_column(default=0)
    monetary: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))


class SegmentTransition(db.Model):
    """How many members were in `from_segment` at the start of the month before `month` and in
    `to_segment` at the start of `month` (`not_joined`: not yet a member then)."""

    __tablename__ = "analytics_segment_transition"

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("analytics_run.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    from_segment: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    to_segment: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    members: Mapped[int] = mapped_column(default=0)


class SegmentSummary(db.Model):
    """Customer equity of a run by `dimension` ("segment" or "tier") and `key` (its code)."""

    __tablename__ = "analytics_summary"

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("analytics_run.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    members: Mapped[int] = mapped_column(default=0)
    monetary: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    clv: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    p_alive_avg: Mapped[float | None] = mapped_column(sa.Float)
    at_risk: Mapped[int] = mapped_column(default=0)
