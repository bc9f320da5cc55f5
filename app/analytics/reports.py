"""What the analysis pages read from a finished snapshot (a few small queries each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.analytics import segments as seg
from app.analytics.models import (
    AnalyticsRun,
    MemberSnapshot,
    RunStatus,
    SegmentMonth,
    SegmentSummary,
)
from app.core.db import utcnow
from app.core.extensions import db
from app.core.money import ZERO
from app.grades.labels import tier_label
from app.grades.models import Tier
from app.grades.table import load_rules
from app.membership.models import Member


@dataclass(frozen=True)
class Share:
    key: str
    members: int
    monetary: Decimal
    clv: Decimal
    p_alive_avg: float | None
    at_risk: int
    member_share: float
    monetary_share: float
    clv_share: float


@dataclass(frozen=True)
class Overview:
    segments: list[Share]
    tiers: list[Share]
    members: int
    monetary: Decimal
    clv: Decimal
    at_risk_count: int
    at_risk: list[tuple[MemberSnapshot, Member]]
    tier_names: dict[str, str]


def pending_run() -> AnalyticsRun | None:
    """A recompute asked for or running in the last day (an older one died unfinished)."""
    return db.session.scalar(
        sa.select(AnalyticsRun).where(
            AnalyticsRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
            AnalyticsRun.requested_at >= utcnow() - timedelta(days=1))
        .order_by(AnalyticsRun.id.desc()).limit(1))


def _shares(rows: list[SegmentSummary], order: list[str]) -> list[Share]:
    members = sum(r.members for r in rows) or 1
    monetary = sum((r.monetary for r in rows), ZERO) or Decimal(1)
    clv = sum((r.clv for r in rows), ZERO) or Decimal(1)
    rank = {key: i for i, key in enumerate(order)}
    rows = sorted(rows, key=lambda r: (rank.get(r.key, len(rank)), r.key))
    return [Share(r.key, r.members, r.monetary, r.clv, r.p_alive_avg, r.at_risk,
                  r.members / members, float(r.monetary / monetary), float(r.clv / clv))
            for r in rows]


def overview(run: AnalyticsRun, at_risk_limit: int) -> Overview:
    rows = db.session.scalars(
        sa.select(SegmentSummary).where(SegmentSummary.run_id == run.id)).all()
    by_segment = [r for r in rows if r.dimension == "segment"]
    by_tier = [r for r in rows if r.dimension == "tier"]
    rules = load_rules()
    tier_names = {code: str(tier_label(name, rules)) for code, name in db.session.execute(
        sa.select(Tier.code, Tier.name).order_by(Tier.position)).all()}  # reader's language
    at_risk = db.session.execute(
        sa.select(MemberSnapshot, Member)
        .join(Member, Member.id == MemberSnapshot.member_id)
        .where(MemberSnapshot.run_id == run.id, MemberSnapshot.at_risk.is_(True))
        .order_by(MemberSnapshot.clv.desc(), MemberSnapshot.member_id)
        .limit(at_risk_limit)
    ).all()
    return Overview(
        segments=_shares(by_segment, list(seg.SEGMENTS)),
        tiers=_shares(by_tier, list(tier_names)),
        members=sum(r.members for r in by_segment),
        monetary=sum((r.monetary for r in by_segment), ZERO),
        clv=sum((r.clv for r in by_segment), ZERO),
        at_risk_count=sum(r.at_risk for r in by_segment),
        at_risk=list(at_risk),
        tier_names=tier_names,
    )


def current_sizes(run: AnalyticsRun) -> dict[str, int]:
    return dict(db.session.execute(
        sa.select(SegmentSummary.key, SegmentSummary.members)
        .where(SegmentSummary.run_id == run.id, SegmentSummary.dimension == "segment")
    ).all())


def month_sizes(run: AnalyticsRun, months: int) -> tuple[list[date], dict[str, dict[date, int]]]:
    """The last `months` monthly snapshots: (months oldest first, segment -> month -> size)."""
    wanted = db.session.scalars(
        sa.select(SegmentMonth.month).where(SegmentMonth.run_id == run.id).distinct()
        .order_by(SegmentMonth.month.desc()).limit(months)).all()
    table: dict[str, dict[date, int]] = {}
    for month, code, members in db.session.execute(
        sa.select(SegmentMonth.month, SegmentMonth.segment, SegmentMonth.members)
        .where(SegmentMonth.run_id == run.id, SegmentMonth.month.in_(wanted))
    ):
        table.setdefault(code, {})[month] = members
    return sorted(wanted), table


def segment_members(run: AnalyticsRun, code: str, page: int,
                    per_page: int) -> tuple[list[tuple[MemberSnapshot, Member]], int]:
    """One page of a segment's members, most valuable first (CLV, then spend)."""
    total = db.session.scalar(
        sa.select(SegmentSummary.members).where(
            SegmentSummary.run_id == run.id, SegmentSummary.dimension == "segment",
            SegmentSummary.key == code)) or 0
    rows = db.session.execute(
        sa.select(MemberSnapshot, Member)
        .join(Member, Member.id == MemberSnapshot.member_id)
        .where(MemberSnapshot.run_id == run.id, MemberSnapshot.segment == code)
        .order_by(MemberSnapshot.clv.desc().nulls_last(), MemberSnapshot.monetary.desc(),
                  MemberSnapshot.member_id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total
