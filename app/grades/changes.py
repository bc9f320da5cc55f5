"""What every grade change shares: the member's row lock, the recorded `GradeChange` row, and
whether a move is up.

A change is recorded as a `GradeChange` with the names the grades had at that moment (a tier
renamed or removed later does not rewrite history). A move is up when the new grade's threshold
is higher than the old one's, each judged by the table that knows its code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from app.core.errors import NotFound
from app.core.extensions import db
from app.core.signals import grade_changed
from app.grades.grading import TierRule
from app.grades.models import GradeReason
from app.grades.table import rule_for
from app.membership.models import Member


def lock_member(member_id: int) -> Member:
    """The member, re-read under a row lock (FOR UPDATE on PostgreSQL; SQLite has one writer).

    Everything read after this sees every order committed before the lock was granted.
    Raises NotFound for an unknown member.
    """
    member = db.session.scalar(
        sa.select(Member).where(Member.id == member_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if member is None:
        raise NotFound(_("There is no such member."))
    return member


def _threshold(code: str | None, *tables: Sequence[TierRule]) -> Decimal | None:
    for table in tables:
        rule = rule_for(code, table)
        if rule is not None:
            return rule.min_spend
    return None


def is_up(from_code: str | None, to_code: str, rules: Sequence[TierRule],
          old_rules: Sequence[TierRule] = ()) -> bool:
    """A move to a tier with a higher threshold (judged by the table that knows each code)."""
    before = _threshold(from_code, rules, old_rules)
    after = _threshold(to_code, rules)
    return before is not None and after is not None and after > before


def rule_names(*tables: Sequence[TierRule]) -> dict[str, str]:
    """Grade code -> name over the tables given; the first table that knows a code wins."""
    names: dict[str, str] = {}
    for table in reversed(tables):
        names.update({r.code: r.name for r in table})
    return names


def announce(rows: list[dict]) -> None:
    """Tell the features above that grades moved (`grade_changed`): `rows` are the values of
    the GradeChange rows just written (`change_row`'s dicts), already flushed."""
    if rows:
        grade_changed.send(None, changes=rows)


def change_row(member_id: int, from_code: str | None, to_code: str, names: dict[str, str],
               *, reason: GradeReason, spend: Decimal, at: datetime, order_id: int | None = None,
               actor_id: int | None = None, note: str | None = None,
               refund_id: int | None = None) -> dict:
    """The values of one `GradeChange` (for the model or a bulk insert)."""
    return {
        "member_id": member_id,
        "from_code": from_code,
        "from_name": names.get(from_code or "", from_code),
        "to_code": to_code,
        "to_name": names.get(to_code, to_code),
        "at": at,
        "reason": reason,
        "spend": spend,
        "order_id": order_id,
        "actor_id": actor_id,
        "note": note,
        "refund_id": refund_id,
    }
