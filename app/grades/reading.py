"""Reading grades for pages: a member's standing and grade history, customers per grade, and
finding a member for the admin's grade page. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.core.extensions import db
from app.core.text import contains_pattern
from app.grades import grading
from app.grades.grading import Standing, TierRule
from app.grades.models import GradeChange
from app.grades.spend import qualifying_spend
from app.grades.table import load_rules
from app.membership.models import Member

HISTORY_LIMIT = 100
LOOKUP_LIMIT = 20


def member_standing(member: Member, now: datetime | None = None,
                    rules: Sequence[TierRule] | None = None) -> Standing:
    """The member's grade, live spend and the way to the next grade (for the pages), against
    `rules` (the stored table when not given)."""
    return grading.standing(qualifying_spend(member, now),
                            load_rules() if rules is None else rules, member.tier_code)


def grade_history(member: Member, limit: int = HISTORY_LIMIT) -> list[GradeChange]:
    """The member's grade changes, newest first."""
    return list(db.session.scalars(
        sa.select(GradeChange)
        .where(GradeChange.member_id == member.id)
        .options(selectinload(GradeChange.actor))
        .order_by(GradeChange.at.desc(), GradeChange.id.desc())
        .limit(limit)
    ))


@dataclass(frozen=True)
class TierCount:
    code: str
    name: str
    members: int
    in_table: bool
    names: tuple[tuple[str, str], ...] = ()  # the name in other languages (TierRule.names)


def tier_counts() -> list[TierCount]:
    """Customers per grade (`Member.is_customer`: staff, admins and erased accounts are
    not counted), in table order; grades no longer in the table come last."""
    rules = grading.ordered(load_rules())
    counts = dict(db.session.execute(
        sa.select(Member.tier_code, sa.func.count()).where(Member.is_customer)
        .group_by(Member.tier_code)
    ).all())
    result = [TierCount(r.code, r.name, int(counts.pop(r.code, 0)), True, r.names)
              for r in rules]
    result += [TierCount(code, code, int(n), False) for code, n in sorted(counts.items())]
    return result


def find_members(query: str, limit: int = LOOKUP_LIMIT) -> list[Member]:
    """Members by exact member number or email first; else those whose email, name or number
    contains the text (at most `limit`)."""
    text = " ".join((query or "").split())
    if not text:
        return []
    exact = db.session.scalars(
        sa.select(Member).where(sa.or_(sa.func.lower(Member.member_no) == text.lower(),
                                       sa.func.lower(Member.email) == text.lower()))
        .order_by(Member.id).limit(limit)
    ).all()
    if exact:
        return list(exact)
    pattern = contains_pattern(text.lower())
    return list(db.session.scalars(
        sa.select(Member).where(sa.or_(
            sa.func.lower(Member.email).like(pattern, escape="\\"),
            sa.func.lower(Member.name).like(pattern, escape="\\"),
            sa.func.lower(Member.member_no).like(pattern, escape="\\"),
        )).order_by(Member.id).limit(limit)
    ))
