"""Re-grading one member when one of their orders is paid, cancelled or refunded.

`on_order_refunded` is called by `app.returns.refunds` once a refund is recorded: the spend
falls by the refund, and the grade follows REFUND_GRADE_POLICY; a change names the refund.

`on_order_paid` and `on_order_cancelled` are called from `app.ordering.orders.change_status` in
the same transaction. Each recomputes the member's spend from their orders UNDER A ROW LOCK on
the member (`changes.lock_member`), so two orders paid at the same moment are both counted: the
second waits for the first to commit and then sums both.

- Going up is immediate: checkout reads the grade from the database
  (`discount.discount_rate_for`), so the next cart and order use the new discount without
  logging in again; the member is congratulated by mail (once per change).
- Going down follows TIER_DEMOTION (`settings`): at once, or kept until its window ends.
- REFUND_GRADE_POLICY="keep" means a refund never lowers the grade, at the refund or at any
  later regrade: every regrade (paid, cancelled, refunded) then passes the spend BEFORE
  refunds (`spend.spend_before_refunds`) as the floor of a move down
  (`grading.decide_grade`'s `floor_spend`), so the refunded money keeps the grade it earned
  (while it is in the window) but never earns a higher one. The nightly bulk regrade does
  the same (`bulk_regrade`).
- A grade set by hand holds (see `staff_grades.set_member_grade`).

Every change is recorded as a `GradeChange`. Functions flush, never commit.
"""

from __future__ import annotations

from datetime import datetime

from app.core.db import utcnow
from app.core.extensions import db
from app.grades import grading
from app.grades.changes import announce, change_row, is_up, lock_member, rule_names
from app.grades.grade_up_mail import congratulate
from app.grades.grading import Demotion
from app.grades.models import GradeChange, GradeReason
from app.grades.settings import demotion_policy, refund_policy, window_months
from app.grades.spend import qualifying_spend, spend_before_refunds
from app.grades.table import ensure_default_tiers
from app.membership.models import Member
from app.ordering.models import Order


def regrade_member(member_id: int, reason: GradeReason, *, order_id: int | None = None,
                   actor: Member | None = None, now: datetime | None = None,
                   notify: bool = True, policy: Demotion | None = None,
                   refund_id: int | None = None, note: str | None = None
                   ) -> GradeChange | None:
    """Recount one member's spend under their row lock and move their grade by the rules;
    returns the recorded change, if the grade moved. `notify=False` mails nobody. `policy`
    replaces TIER_DEMOTION for this move (a refund's REFUND_GRADE_POLICY); `refund_id` and
    `note` are recorded on the change."""
    now = now or utcnow()
    member = lock_member(member_id)  # first the lock, then read the table and the orders
    rules = ensure_default_tiers()
    old_spend = member.qualifying_spend
    new_spend = qualifying_spend(member.id, now)
    floor = (spend_before_refunds(member.id, now) if refund_policy() is Demotion.KEEP
             else None)
    decision = grading.decide_grade(
        current=member.tier_code, manual=member.tier_is_manual, old_spend=old_spend,
        new_spend=new_spend, rules=rules,
        policy=policy if policy is not None else demotion_policy(), since=member.tier_since,
        window_months=window_months(), now=now, floor_spend=floor,
    )
    member.qualifying_spend = new_spend
    member.tier_is_manual = decision.manual
    change = None
    if decision.code != member.tier_code:
        values = change_row(
            member.id, member.tier_code, decision.code, rule_names(rules), reason=reason,
            spend=new_spend, at=now, order_id=order_id,
            actor_id=actor.id if actor is not None else None, refund_id=refund_id, note=note,
        )
        change = GradeChange(**values)
        promoted = is_up(member.tier_code, decision.code, rules)
        member.tier_code = decision.code
        member.tier_since = now
        db.session.add(change)
        db.session.flush()
        announce([values])
        if promoted and notify:
            congratulate(member, change, rules)
    db.session.flush()
    return change


def on_order_paid(order: Order, actor: Member | None = None,
                  now: datetime | None = None) -> GradeChange | None:
    """An order became paid: recount the member's spend under a row lock; raise the grade at
    once if a threshold is reached (and queue the congratulation). Returns the change, if any.
    """
    return regrade_member(order.member_id, GradeReason.ORDER_PAID, order_id=order.id,
                          actor=actor, now=now)


def on_order_cancelled(order: Order, actor: Member | None = None, now: datetime | None = None,
                       reason: GradeReason = GradeReason.ORDER_CANCELLED) -> GradeChange | None:
    """A paid (or shipped, delivered) order was cancelled or refunded: recount the spend; the
    grade falls per TIER_DEMOTION. Pass `reason=GradeReason.REFUND` for a refund."""
    return regrade_member(order.member_id, reason, order_id=order.id, actor=actor, now=now)


def on_order_refunded(order: Order, refund_id: int, actor: Member | None = None,
                      now: datetime | None = None, note: str | None = None
                      ) -> GradeChange | None:
    """A refund was recorded on a paid order: recount the spend (the refund comes off it); the
    grade falls per REFUND_GRADE_POLICY, and a change names the refund."""
    return regrade_member(order.member_id, GradeReason.REFUND, order_id=order.id, actor=actor,
                          now=now, policy=refund_policy(), refund_id=refund_id, note=note)
