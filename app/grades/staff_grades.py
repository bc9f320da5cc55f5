"""Grades set by the shop's staff: an admin sets or releases a member's grade, with a reason.

How a hand-set grade meets later orders: it HOLDS. Automatic re-grading (orders paid or
cancelled, table changes, `flask tiers recompute`) never lowers it, whatever the demotion
policy. It is released, and the member follows their spend again, only when their spend crosses
into a grade above both the hand-set one and what they had earned before (`grading.decide_grade`),
or at once by `release_member_grade`. A move up is congratulated by mail like any other.

Each change is recorded twice, in the same transaction: as a `GradeChange` (the member's grade
history, reason ADMIN, the reason as its note) and in the audit log (actions "tier.grade_set"
and "tier.grade_release", before and after of `GRADE_FIELDS`). Functions flush, never commit;
a refused change (InvalidInput, NotFound) writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.grades import grading
from app.grades.changes import announce, change_row, is_up, lock_member, rule_names
from app.grades.grade_up_mail import congratulate
from app.grades.grading import TierRule
from app.grades.models import GradeChange, GradeReason
from app.grades.spend import qualifying_spend
from app.grades.table import ensure_default_tiers, rule_for
from app.membership.models import Member

REASON_MAX_LENGTH = 500
GRADE_FIELDS = ("tier_code", "tier_is_manual")


def _clean_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput(_("Please give a reason for the change."))
    if len(text) > REASON_MAX_LENGTH:
        raise InvalidInput(_("The reason can be at most %(max)d characters.",
                             max=REASON_MAX_LENGTH))
    return text


def set_member_grade(member: Member, tier_code: str, reason: str, actor: Member,
                     now: datetime | None = None) -> GradeChange:
    """An admin (`actor`) sets a member's grade by hand, with a reason (required, recorded in
    the grade history and the audit log). The grade then holds (see the module docstring).

    Raises InvalidInput for a missing or too long reason, a grade not in the table, or the
    grade the member already holds by hand."""
    text = _clean_reason(reason)
    now = now or utcnow()
    member = lock_member(member.id)
    rules = ensure_default_tiers()
    rule = rule_for(tier_code, rules)
    if rule is None:
        raise InvalidInput(_("There is no such grade."))
    if member.tier_code == rule.code and member.tier_is_manual:
        raise InvalidInput(_("%(name)s already holds this grade, set by hand.",
                             name=member.name))
    spend = qualifying_spend(member.id, now)
    return _apply_admin_grade(member, rule.code, manual=True, spend=spend, rules=rules,
                              actor=actor, note=text, summary=reason, action="tier.grade_set",
                              now=now)


def release_member_grade(member: Member, reason: str, actor: Member,
                         now: datetime | None = None) -> GradeChange:
    """End a hand-set grade: the member gets the grade their spend earns now (recorded in the
    grade history and the audit log). Raises InvalidInput when the grade was not set by hand
    or the reason is missing or too long."""
    text = _clean_reason(reason)
    now = now or utcnow()
    member = lock_member(member.id)
    if not member.tier_is_manual:
        raise InvalidInput(_("This member's grade already follows their spend."))
    rules = ensure_default_tiers()
    spend = qualifying_spend(member.id, now)
    earned = grading.tier_for(spend, rules)
    return _apply_admin_grade(member, earned.code, manual=False, spend=spend, rules=rules,
                              actor=actor, note=text, summary=reason,
                              action="tier.grade_release", now=now)


def _apply_admin_grade(member: Member, code: str, *, manual: bool, spend: Decimal,
                       rules: Sequence[TierRule], actor: Member, note: str, summary: str,
                       action: str, now: datetime) -> GradeChange:
    """Record an admin's grade change on a locked member (history and audit log);
    congratulate on a move up."""
    before = audit.snapshot(member, GRADE_FIELDS)
    values = change_row(
        member.id, member.tier_code, code, rule_names(rules), reason=GradeReason.ADMIN,
        spend=spend, at=now, actor_id=actor.id, note=note,
    )
    change = GradeChange(**values)
    promoted = is_up(member.tier_code, code, rules)
    if member.tier_code != code:
        member.tier_since = now
    member.tier_code = code
    member.tier_is_manual = manual
    member.qualifying_spend = spend
    db.session.add(change)
    db.session.flush()
    announce([values])
    if promoted:
        congratulate(member, change, rules)
    audit.record(actor.id, actor.email, action, member, before=before,
                 after=audit.snapshot(member, GRADE_FIELDS),
                 summary=f"Grade of {member.member_no or member.id}: {summary}")
    return change
