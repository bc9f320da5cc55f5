"""The congratulation a member gets when their grade goes up.

Queued in the outbox (kind "grade_up") in the transaction that records the change, so it is sent
only if the change commits; deduplicated per `GradeChange` (`grade_up:<id>`), so one change is
congratulated once however often it is looked at.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app

from app.core.urls import external_url
from app.grades import grading
from app.grades.grading import TierRule
from app.grades.models import GradeChange
from app.grades.table import rule_for
from app.mail.outbox import enqueue
from app.membership.models import Member


def congratulate(member: Member, change: GradeChange, rules: Sequence[TierRule]) -> None:
    """Queue the congratulation for a move up (once per GradeChange; the change must be
    flushed). Nothing is queued when the new grade is not in `rules`."""
    rule = rule_for(change.to_code, rules)
    if rule is None:
        return
    place = grading.standing(change.spend, rules, rule.code)
    enqueue(
        kind="grade_up",
        to_email=member.email,
        template="grade_up",
        context={
            "name": member.name,
            "tier": rule,
            # the grade left, named in the member's language while the table still has it
            "previous_name": change.from_name,
            "previous_tier": rule_for(change.from_code, rules),
            "spend": change.spend,
            "next_tier": place.next,
            "next_needed": place.needed,
            "grade_url": external_url("account.grade"),
            "shop_name": current_app.config["SHOP_NAME"],
        },
        member_id=member.id,
        dedupe_key=f"grade_up:{change.id}",
    )
