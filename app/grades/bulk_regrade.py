"""Re-grading every member at once: after the tier table is replaced, and by
`flask tiers recompute` (daily when grades have a window, and after orders are imported).

Set-based: every member's spend is recomputed by one UPDATE and only the members whose earned
grade differs from the one they hold are read back and decided (`grading.decide_grade`: the
demotion policy, hand-set grades and REFUND_GRADE_POLICY="keep"'s floor, the spend before
refunds, apply as for one member). Every change is recorded as a
`GradeChange`; a move up is congratulated by mail unless `notify=False`. Replacing the table is
audited ("tier.table", the old and the new table). Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.extensions import db
from app.core.money import from_cents, to_cents
from app.grades import grading
from app.grades.changes import announce, change_row, is_up, rule_names
from app.grades.errors import TierTableConflict, TierTableInvalid
from app.grades.grade_up_mail import congratulate
from app.grades.grading import TierRule
from app.grades.models import GradeChange, GradeReason, Tier, TierName
from app.grades.settings import demotion_policy, refund_policy, window_months, window_start
from app.grades.spend import cents, qualifying
from app.grades.table import ensure_default_tiers, load_rules, tier_rows
from app.membership.models import Member
from app.ordering.models import Order

_CHUNK = 500


@dataclass(frozen=True)
class RegradeReport:
    changed: int
    promoted: int
    demoted: int


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def regrade_all(reason: GradeReason = GradeReason.RECOMPUTE, *, actor: Member | None = None,
                now: datetime | None = None, notify: bool = True, lock: bool = True,
                old_rules: Sequence[TierRule] = ()) -> RegradeReport:
    """Rebuild every member's qualifying spend and grade in one pass. Flushes.

    Set-based: one UPDATE recomputes every spend from the orders; one SELECT (a GROUP BY of
    the orders and a CASE over the table's thresholds) finds only the members whose earned
    grade differs from the one they hold; the decisions (policy, hand-set grades) are made for
    those rows only and written with one UPDATE per new grade. `lock` takes every member row
    first on PostgreSQL, so an order paid meanwhile waits and then counts against the new
    table. `notify=False` (the seed) records the changes but mails nobody. `old_rules` names
    (and ranks) grades the current table no longer has.
    """
    now = now or utcnow()
    rules = load_rules()
    table = grading.ordered(rules)
    since = window_start(now)
    if lock and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(Member.id).with_for_update()).all()

    spend_by_member = qualifying(
        sa.select(Order.member_id, sa.func.sum(Order.revenue_cents()).label("cents"),
                  sa.func.sum(cents(Order.total)).label("gross"))
        .group_by(Order.member_id),
        since,
    ).subquery()
    new_cents = sa.func.coalesce(spend_by_member.c.cents, 0)
    earned = sa.case(
        *[(new_cents >= to_cents(r.min_spend), r.code) for r in reversed(table[1:])],
        else_=table[0].code,
    ) if len(table) > 1 else sa.literal(table[0].code)
    candidates = db.session.execute(
        sa.select(Member.id, Member.tier_code, Member.tier_is_manual, Member.tier_since,
                  cents(Member.qualifying_spend), new_cents,
                  sa.func.coalesce(spend_by_member.c.gross, 0))
        .outerjoin(spend_by_member, spend_by_member.c.member_id == Member.id)
        .where(Member.tier_code != earned)
        .order_by(Member.id)
    ).all()

    correlated = qualifying(
        sa.select(sa.func.coalesce(sa.func.sum(Order.revenue_cents()), 0))
        .where(Order.member_id == Member.id),
        since,
    ).scalar_subquery()
    db.session.execute(
        sa.update(Member)
        .where(cents(Member.qualifying_spend) != correlated)
        .values({Member.qualifying_spend: sa.type_coerce(correlated, sa.BigInteger)})
        .execution_options(synchronize_session=False)
    )

    policy, months = demotion_policy(), window_months()
    keep_refunded = refund_policy() is grading.Demotion.KEEP  # a refund never lowers a grade
    names = rule_names(rules, old_rules)
    groups: dict[tuple[str, bool], list[int]] = {}
    rows: list[dict] = []
    promoted_ids: list[int] = []
    demoted = 0
    for member_id, code, manual, tier_since, old_cents, new, gross in candidates:
        decision = grading.decide_grade(
            current=code, manual=manual, old_spend=from_cents(old_cents),
            new_spend=from_cents(int(new)), rules=table, policy=policy, since=tier_since,
            window_months=months, now=now,
            floor_spend=from_cents(int(gross)) if keep_refunded else None,
        )
        if decision.code == code:
            continue  # held (kept by policy or set by hand): nothing to write
        groups.setdefault((decision.code, decision.manual), []).append(member_id)
        rows.append(change_row(member_id, code, decision.code, names, reason=reason,
                               spend=from_cents(int(new)), at=now,
                               actor_id=actor.id if actor is not None else None))
        if is_up(code, decision.code, table, old_rules):
            promoted_ids.append(member_id)
        else:
            demoted += 1
    for (code, manual), ids in groups.items():
        for chunk in _chunks(ids):
            db.session.execute(
                sa.update(Member).where(Member.id.in_(chunk))
                .values(tier_code=code, tier_is_manual=manual, tier_since=now)
                .execution_options(synchronize_session=False)
            )
    _expire_members()

    if notify and promoted_ids:
        changes = [GradeChange(**row) for row in rows]
        db.session.add_all(changes)
        db.session.flush()
        by_member = {c.member_id: c for c in changes}
        for chunk in _chunks(promoted_ids):
            for member in db.session.scalars(sa.select(Member).where(Member.id.in_(chunk))):
                congratulate(member, by_member[member.id], table)
    elif rows:
        for chunk in _chunks(rows, 5_000):
            db.session.execute(sa.insert(GradeChange), list(chunk))
    db.session.flush()
    announce(rows)
    return RegradeReport(changed=len(rows), promoted=len(promoted_ids), demoted=demoted)


def _expire_members() -> None:
    """Members already loaded in this session were changed behind the ORM's back."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Member):
            db.session.expire(obj, ["qualifying_spend", "tier_code", "tier_since",
                                    "tier_is_manual"])


def table_snapshot(rules: Sequence[TierRule]) -> dict:
    """The tier table as the audit log keeps it (one dict per tier, cheapest first)."""
    return {"tiers": [{"code": r.code, "name": r.name, "min_spend": r.min_spend,
                       "discount_percent": r.discount_percent, "perks": r.perks,
                       "names": dict(r.names), "other_perks": dict(r.other_perks)}
                      for r in grading.ordered(rules)]}


def replace_table(rules: Sequence[TierRule], actor: Member | None,
                  now: datetime | None = None) -> RegradeReport:
    """Replace the whole tier table and re-grade every member against it, in one transaction;
    the change is audited as "tier.table" by `actor` (None: the system).

    Raises TierTableInvalid (with every problem) for a bad table, and TierTableConflict when
    another transaction wrote the table meanwhile: then nothing is written and the old table
    stays. Members whose tier disappeared get the grade their spend earns.
    """
    problems = grading.validate_table(rules)
    if problems:
        raise TierTableInvalid(problems)
    old_rules = load_rules()
    db.session.execute(sa.select(Tier.id).with_for_update()).all()
    try:
        with db.session.begin_nested():
            db.session.execute(sa.delete(TierName))  # SQLite does not cascade
            db.session.execute(sa.delete(Tier))
            db.session.add_all(tier_rows(rules))
    except IntegrityError:
        raise TierTableConflict(
            _("Someone else changed the tier table meanwhile; please look again.")
        ) from None
    report = regrade_all(GradeReason.TABLE_CHANGE, actor=actor, now=now, old_rules=old_rules)
    audit.record(actor.id if actor is not None else None,
                 actor.email if actor is not None else None, "tier.table", target_type="tier",
                 before=table_snapshot(old_rules), after=table_snapshot(load_rules()),
                 summary=f"Tier table saved; {report.changed} member(s) changed grade")
    return report


def recompute_all(now: datetime | None = None, notify: bool = True) -> RegradeReport:
    """`flask tiers recompute`: make sure a table exists, then rebuild spend and grades."""
    ensure_default_tiers()
    return regrade_all(GradeReason.RECOMPUTE, now=now, notify=notify)
