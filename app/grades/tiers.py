"""Member grades (issue 7): qualifying spend, grade changes, the tier table, congratulations.

QUALIFYING SPEND is the sum of `Order.total` -- what the member paid, AFTER their member
discount, shipping included -- over their orders that are paid, shipped or delivered. Orders
still waiting for payment and cancelled orders do not count. `TIER_WINDOW_MONTHS` = None (the
default) counts all time; N counts only orders paid in the last N calendar months (by
`paid_at`), and then `flask tiers recompute` should run daily so grades follow as orders age out.

The grade is the highest tier whose threshold the spend has reached (`>=`, see
`app.grades.grading`). It changes:

- when an order becomes paid (`on_order_paid`) or a paid order is cancelled or refunded
  (`on_order_cancelled`), both called from `app.ordering.orders.change_status` in the same
  transaction. Each recomputes the member's spend from their orders UNDER A ROW LOCK on the
  member (SELECT ... FOR UPDATE on PostgreSQL), so two orders paid at the same moment are both
  counted: the second waits for the first to commit and then sums both;
- going up is immediate: checkout reads the grade from the database
  (`checkout.member_discount_rate`), so the next cart and order use the new discount without
  logging in again; the member is congratulated by mail (kind "grade_up", once per change);
- going down follows TIER_DEMOTION: "demote" (default) at once, or "keep" the grade until its
  window ends (for good when the window is all time);
- when the admin replaces the tier table (`replace_table`): every member is re-graded in one
  set-based pass; a bad table is refused with its problems and the old one stays;
- by hand (`set_member_grade`): see that function for how a hand-set grade meets later orders.

Every change is recorded as a `GradeChange`. Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.core.db import utcnow
from app.core.errors import DomainError, InvalidInput, NotFound
from app.core.extensions import db
from app.core.formatting import money
from app.core.i18n import lazy_gettext as _l
from app.core.money import from_cents, to_cents
from app.core.text import contains_pattern
from app.core.urls import external_url
from app.grades import grading
from app.grades.grading import Demotion, Problem, Standing, TierRule
from app.grades.models import GradeChange, GradeReason, Tier
from app.mail.outbox import enqueue
from app.membership.login import loaded_discount_rate
from app.membership.models import Member
from app.ordering.models import Order

REASON_MAX_LENGTH = 500
HISTORY_LIMIT = 100
LOOKUP_LIMIT = 20
_CHUNK = 500

REASON_LABELS = {
    GradeReason.ORDER_PAID: _l("Order paid"),
    GradeReason.ORDER_CANCELLED: _l("Order cancelled"),
    GradeReason.REFUND: _l("Order refunded"),
    GradeReason.ADMIN: _l("Set by the shop"),
    GradeReason.TABLE_CHANGE: _l("Tier table changed"),
    GradeReason.RECOMPUTE: _l("Grades recomputed"),
}

_PROBLEM_TEXTS = {
    "empty": _l("The table needs at least one tier."),
    "too_many": _l("The table can have at most %(max)s tiers."),
    "code_missing": _l("Give the tier a code."),
    "code_format": _l("Use lowercase letters, digits, - and _ for the code (e.g. gold)."),
    "code_length": _l("The code can be at most %(max)s characters."),
    "code_duplicate": _l("Another tier already has the code %(code)s."),
    "name_missing": _l("Give the tier a name."),
    "name_length": _l("The name can be at most %(max)s characters."),
    "name_duplicate": _l("Another tier is already called %(name)s."),
    "perks_length": _l("The perks can be at most %(max)s characters."),
    "spend_invalid": _l("Enter an amount such as 500 or 499.50."),
    "spend_negative": _l("The threshold cannot be negative."),
    "spend_cents": _l("Use at most two decimals for the threshold."),
    "spend_too_large": _l("The threshold can be at most %(max)s."),
    "first_not_zero": _l("The first tier must start at 0, so every member has a grade."),
    "spend_not_increasing": _l("Each threshold must be higher than the one above it "
                               "(%(previous)s)."),
    "rate_invalid": _l("Enter a discount between 0 and 100 %%."),
    "rate_range": _l("The discount must be between 0 and 100 %%."),
    "rate_precision": _l("Use at most two decimals for the discount percentage."),
    "rate_decreasing": _l("A higher tier cannot have a smaller discount than the one above it "
                          "(%(previous)s %%)."),
}


class TierTableInvalid(DomainError):
    """The tier table was refused; `problems` says where and why (the old table is kept)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(problem_message(p) for p in self.problems))


class TierTableConflict(DomainError):
    pass


def problem_message(problem: Problem) -> str:
    """The problem in the reader's language (money formatted for the shop's currency)."""
    values = dict(problem.values)
    for key in ("max", "previous"):
        if problem.field == "min_spend" and isinstance(values.get(key), Decimal):
            values[key] = money(values[key])
    return str(_PROBLEM_TEXTS[problem.code]) % values


def reason_label(reason: GradeReason | str) -> str:
    return str(REASON_LABELS.get(GradeReason(reason), reason))


# --------------------------------------------------------------------------- settings


def _window_months() -> int | None:
    months = current_app.config.get("TIER_WINDOW_MONTHS")
    if months is None:
        return None
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 1200:
        raise RuntimeError("TIER_WINDOW_MONTHS must be None (all time) or 1..1200 months")
    return months


def _policy() -> Demotion:
    try:
        return Demotion(current_app.config.get("TIER_DEMOTION", "demote"))
    except ValueError:
        raise RuntimeError('TIER_DEMOTION must be "demote" or "keep"') from None


def window_start(now: datetime | None = None) -> datetime | None:
    """The first moment that counts towards the grade; None when all time counts."""
    months = _window_months()
    if months is None:
        return None
    return grading.add_months(now or utcnow(), -months)


# --------------------------------------------------------------------------- the table


def _rule(tier: Tier) -> TierRule:
    return TierRule(code=tier.code, name=tier.name, min_spend=tier.min_spend,
                    discount_rate=tier.discount_rate, perks=tier.perks or "")


def load_rules() -> tuple[TierRule, ...]:
    """The tier table by ascending threshold; the defaults while none has been saved."""
    tiers = db.session.scalars(sa.select(Tier).order_by(Tier.min_spend, Tier.id)).all()
    if not tiers:
        return grading.DEFAULT_RULES
    return tuple(_rule(t) for t in tiers)


def table_is_saved() -> bool:
    return bool(db.session.scalar(sa.select(sa.exists().where(Tier.id.is_not(None)))))


def ensure_default_tiers() -> tuple[TierRule, ...]:
    """Write the default table (Regular 0 -> 0 %, Silver 500 -> 5 %, Gold 2,000 -> 10 %,
    Platinum 5,000 -> 15 %) when there is none yet; returns the table. Flushes.

    Safe when two transactions try at once: the loser's inserts hit the unique codes, are
    rolled back to a savepoint, and it reads the winner's table.
    """
    if table_is_saved():
        return load_rules()
    try:
        with db.session.begin_nested():
            db.session.add_all(_tier_rows(grading.DEFAULT_RULES))
    except IntegrityError:
        pass
    return load_rules()


def _tier_rows(rules: Sequence[TierRule]) -> list[Tier]:
    return [
        Tier(code=r.code, name=r.name.strip(), min_spend=r.min_spend,
             discount_rate=r.discount_rate, perks=(r.perks or "").strip() or None, position=i)
        for i, r in enumerate(rules)
    ]


def rule_for(code: str | None, rules: Sequence[TierRule]) -> TierRule | None:
    return next((r for r in rules if r.code == code), None)


def tier_name(code: str | None, rules: Sequence[TierRule] | None = None) -> str:
    """The display name of a grade code (the code itself when the table no longer has it)."""
    rule = rule_for(code, load_rules() if rules is None else rules)
    return rule.name if rule is not None else (code or "")


# --------------------------------------------------------------------------- spend


def _cents(column: sa.ColumnElement) -> sa.ColumnElement[int]:
    """A Money column as its raw integer cents, for exact SUMs and set-based comparisons."""
    return sa.type_coerce(column, sa.BigInteger)


def _qualifying(stmt: sa.Select, since: datetime | None) -> sa.Select:
    stmt = stmt.where(Order.is_paid)
    if since is not None:
        stmt = stmt.where(sa.func.coalesce(Order.paid_at, Order.placed_at) >= since)
    return stmt


def qualifying_spend(member: Member | int, now: datetime | None = None) -> Decimal:
    """The member's qualifying spend now: totals after discount of paid, shipped and delivered
    orders in the window (see the module docstring)."""
    member_id = member if isinstance(member, int) else member.id
    stmt = _qualifying(
        sa.select(sa.func.coalesce(sa.func.sum(_cents(Order.total)), 0))
        .where(Order.member_id == member_id),
        window_start(now),
    )
    return from_cents(int(db.session.scalar(stmt) or 0))


# --------------------------------------------------------------------------- one member


def _lock_member(member_id: int) -> Member:
    """The member, re-read under a row lock (FOR UPDATE on PostgreSQL; SQLite has one writer).

    Everything read after this sees every order committed before the lock was granted.
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


def _is_up(from_code: str | None, to_code: str, rules: Sequence[TierRule],
           old_rules: Sequence[TierRule] = ()) -> bool:
    """A move to a tier with a higher threshold (judged by the table that knows each code)."""
    before = _threshold(from_code, rules, old_rules)
    after = _threshold(to_code, rules)
    return before is not None and after is not None and after > before


def _names(*tables: Sequence[TierRule]) -> dict[str, str]:
    names: dict[str, str] = {}
    for table in reversed(tables):  # the first table given wins
        names.update({r.code: r.name for r in table})
    return names


def _change_row(member_id: int, from_code: str | None, to_code: str, names: dict[str, str],
                *, reason: GradeReason, spend: Decimal, at: datetime, order_id: int | None = None,
                actor_id: int | None = None, note: str | None = None) -> dict:
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
    }


def _regrade_member(member_id: int, reason: GradeReason, *, order_id: int | None = None,
                    actor: Member | None = None, now: datetime | None = None,
                    notify: bool = True) -> GradeChange | None:
    now = now or utcnow()
    member = _lock_member(member_id)  # first the lock, then read the table and the orders
    rules = ensure_default_tiers()
    old_spend = member.qualifying_spend
    new_spend = qualifying_spend(member.id, now)
    decision = grading.decide_grade(
        current=member.tier_code, manual=member.tier_is_manual, old_spend=old_spend,
        new_spend=new_spend, rules=rules, policy=_policy(), since=member.tier_since,
        window_months=_window_months(), now=now,
    )
    member.qualifying_spend = new_spend
    member.tier_is_manual = decision.manual
    change = None
    if decision.code != member.tier_code:
        change = GradeChange(**_change_row(
            member.id, member.tier_code, decision.code, _names(rules), reason=reason,
            spend=new_spend, at=now, order_id=order_id,
            actor_id=actor.id if actor is not None else None,
        ))
        promoted = _is_up(member.tier_code, decision.code, rules)
        member.tier_code = decision.code
        member.tier_since = now
        db.session.add(change)
        db.session.flush()
        if promoted and notify:
            _congratulate(member, change, rules)
    db.session.flush()
    return change


def on_order_paid(order: Order, actor: Member | None = None,
                  now: datetime | None = None) -> GradeChange | None:
    """An order became paid: recount the member's spend under a row lock; raise the grade at
    once if a threshold is reached (and queue the congratulation). Returns the change, if any.
    """
    return _regrade_member(order.member_id, GradeReason.ORDER_PAID, order_id=order.id,
                           actor=actor, now=now)


def on_order_cancelled(order: Order, actor: Member | None = None, now: datetime | None = None,
                       reason: GradeReason = GradeReason.ORDER_CANCELLED) -> GradeChange | None:
    """A paid (or shipped, delivered) order was cancelled or refunded: recount the spend; the
    grade falls per TIER_DEMOTION. Pass `reason=GradeReason.REFUND` for a refund."""
    return _regrade_member(order.member_id, reason, order_id=order.id, actor=actor, now=now)


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
    """An admin sets a member's grade by hand, with a reason (required, recorded).

    How a hand-set grade meets later orders: it HOLDS. Automatic re-grading (orders paid or
    cancelled, table changes, `flask tiers recompute`) never lowers it, whatever the demotion
    policy. It is released, and the member follows their spend again, only when their spend
    crosses into a grade above both the hand-set one and what they had earned before: a member
    set to Gold becomes Platinum when they reach 5,000; a member set down from Gold to Silver
    stays Silver until their spend reaches Platinum. `release_member_grade` ends it at once.
    A move up is congratulated by mail like any other.
    """
    text = _clean_reason(reason)
    now = now or utcnow()
    member = _lock_member(member.id)
    rules = ensure_default_tiers()
    rule = rule_for(tier_code, rules)
    if rule is None:
        raise InvalidInput(_("There is no such grade."))
    if member.tier_code == rule.code and member.tier_is_manual:
        raise InvalidInput(_("%(name)s already holds this grade, set by hand.",
                             name=member.name))
    spend = qualifying_spend(member.id, now)
    return _apply_admin_grade(member, rule.code, manual=True, spend=spend, rules=rules,
                              actor=actor, note=text, now=now)


def release_member_grade(member: Member, reason: str, actor: Member,
                         now: datetime | None = None) -> GradeChange:
    """End a hand-set grade: the member gets the grade their spend earns now (recorded)."""
    text = _clean_reason(reason)
    now = now or utcnow()
    member = _lock_member(member.id)
    if not member.tier_is_manual:
        raise InvalidInput(_("This member's grade already follows their spend."))
    rules = ensure_default_tiers()
    spend = qualifying_spend(member.id, now)
    earned = grading.tier_for(spend, rules)
    return _apply_admin_grade(member, earned.code, manual=False, spend=spend, rules=rules,
                              actor=actor, note=text, now=now)


def _apply_admin_grade(member: Member, code: str, *, manual: bool, spend: Decimal,
                       rules: Sequence[TierRule], actor: Member, note: str,
                       now: datetime) -> GradeChange:
    """Record an admin's grade change on a locked member; congratulate on a move up."""
    change = GradeChange(**_change_row(
        member.id, member.tier_code, code, _names(rules), reason=GradeReason.ADMIN,
        spend=spend, at=now, actor_id=actor.id, note=note,
    ))
    promoted = _is_up(member.tier_code, code, rules)
    if member.tier_code != code:
        member.tier_since = now
    member.tier_code = code
    member.tier_is_manual = manual
    member.qualifying_spend = spend
    db.session.add(change)
    db.session.flush()
    if promoted:
        _congratulate(member, change, rules)
    return change


# --------------------------------------------------------------------------- everyone


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
    table. `notify=False` (the seed) records the changes but mails nobody.
    """
    now = now or utcnow()
    rules = load_rules()
    table = grading.ordered(rules)
    since = window_start(now)
    if lock and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(Member.id).with_for_update()).all()

    spend_by_member = _qualifying(
        sa.select(Order.member_id, sa.func.sum(_cents(Order.total)).label("cents"))
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
                  _cents(Member.qualifying_spend), new_cents)
        .outerjoin(spend_by_member, spend_by_member.c.member_id == Member.id)
        .where(Member.tier_code != earned)
        .order_by(Member.id)
    ).all()

    correlated = _qualifying(
        sa.select(sa.func.coalesce(sa.func.sum(_cents(Order.total)), 0))
        .where(Order.member_id == Member.id),
        since,
    ).scalar_subquery()
    db.session.execute(
        sa.update(Member)
        .where(_cents(Member.qualifying_spend) != correlated)
        .values({Member.qualifying_spend: sa.type_coerce(correlated, sa.BigInteger)})
        .execution_options(synchronize_session=False)
    )

    policy, months = _policy(), _window_months()
    names = _names(rules, old_rules)
    groups: dict[tuple[str, bool], list[int]] = {}
    rows: list[dict] = []
    promoted_ids: list[int] = []
    demoted = 0
    for member_id, code, manual, tier_since, old_cents, cents in candidates:
        decision = grading.decide_grade(
            current=code, manual=manual, old_spend=from_cents(old_cents),
            new_spend=from_cents(int(cents)), rules=table, policy=policy, since=tier_since,
            window_months=months, now=now,
        )
        if decision.code == code:
            continue  # held (kept by policy or set by hand): nothing to write
        groups.setdefault((decision.code, decision.manual), []).append(member_id)
        rows.append(_change_row(member_id, code, decision.code, names, reason=reason,
                                spend=from_cents(int(cents)), at=now,
                                actor_id=actor.id if actor is not None else None))
        if _is_up(code, decision.code, table, old_rules):
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
                _congratulate(member, by_member[member.id], table)
    elif rows:
        for chunk in _chunks(rows, 5_000):
            db.session.execute(sa.insert(GradeChange), list(chunk))
    db.session.flush()
    return RegradeReport(changed=len(rows), promoted=len(promoted_ids), demoted=demoted)


def _expire_members() -> None:
    """Members already loaded in this session were changed behind the ORM's back."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Member):
            db.session.expire(obj, ["qualifying_spend", "tier_code", "tier_since",
                                    "tier_is_manual"])


def replace_table(rules: Sequence[TierRule], actor: Member | None,
                  now: datetime | None = None) -> RegradeReport:
    """Replace the whole tier table and re-grade every member against it, in one transaction.

    Raises TierTableInvalid (with every problem) for a bad table: nothing is written and the
    old table stays. Members whose tier disappeared get the grade their spend earns.
    """
    problems = grading.validate_table(rules)
    if problems:
        raise TierTableInvalid(problems)
    old_rules = load_rules()
    db.session.execute(sa.select(Tier.id).with_for_update()).all()
    db.session.execute(sa.delete(Tier))
    try:
        with db.session.begin_nested():
            db.session.add_all(_tier_rows(rules))
    except IntegrityError:
        raise TierTableConflict(
            _("Someone else changed the tier table meanwhile; please look again.")
        ) from None
    return regrade_all(GradeReason.TABLE_CHANGE, actor=actor, now=now, old_rules=old_rules)


def recompute_all(now: datetime | None = None, notify: bool = True) -> RegradeReport:
    """`flask tiers recompute`: make sure a table exists, then rebuild spend and grades."""
    ensure_default_tiers()
    return regrade_all(GradeReason.RECOMPUTE, now=now, notify=notify)


# --------------------------------------------------------------------------- mail


def _congratulate(member: Member, change: GradeChange, rules: Sequence[TierRule]) -> None:
    """Queue the congratulation for a move up (once per GradeChange)."""
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
            "previous_name": change.from_name,
            "spend": change.spend,
            "next_tier": place.next,
            "next_needed": place.needed,
            "grade_url": external_url("account.grade"),
            "shop_name": current_app.config["SHOP_NAME"],
        },
        member_id=member.id,
        dedupe_key=f"grade_up:{change.id}",
    )


# --------------------------------------------------------------------------- reading


def discount_rate_column(code) -> sa.ScalarSelect:
    """The discount rate of grade `code` (a column) in the tier table, as a column of a query:
    the login loader reads it with the member on a GET (app.grades.init_app)."""
    return sa.select(Tier.discount_rate).where(Tier.code == code).scalar_subquery()


# Built once: a checkout runs it (see checkout's statements).
_GRADE_AND_RATE = (
    sa.select(Member.__table__.c.tier_code, Tier.__table__.c.discount_rate)
    .outerjoin(Tier.__table__, Tier.__table__.c.code == Member.__table__.c.tier_code)
    .where(Member.__table__.c.id == sa.bindparam("member_id"))
)


def discount_rate_for(member: Member) -> Decimal:
    """The discount rate of the grade the member holds, read from the database now (so a
    grade raised by another request applies at once). An unknown grade gets no discount.

    On a GET the rate read with the member at the start of the request is that reading (the
    cart page needs no query of its own); otherwise, as in a checkout, it is read here, and
    the member object is brought up to date too, so the order snapshots the code and the rate
    of the same grade."""
    loaded = loaded_discount_rate(member)
    if loaded is not None:
        return loaded
    row = db.session.execute(_GRADE_AND_RATE, {"member_id": member.id}).first()
    if row is None:
        return Decimal("0")
    code, rate = row
    if code != member.tier_code:  # changed by another transaction since the member was loaded
        set_committed_value(member, "tier_code", code)
    if rate is None and not table_is_saved():
        default = rule_for(code, grading.DEFAULT_RULES)
        rate = default.discount_rate if default is not None else None
    return rate if rate is not None else Decimal("0")


def member_standing(member: Member, now: datetime | None = None) -> Standing:
    """The member's grade, live spend and the way to the next grade (for the pages)."""
    return grading.standing(qualifying_spend(member, now), load_rules(), member.tier_code)


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


def tier_counts() -> list[TierCount]:
    """Customers per grade (`Member.is_customer`: staff, admins and erased accounts are
    not counted), in table order; grades no longer in the table come last."""
    rules = grading.ordered(load_rules())
    counts = dict(db.session.execute(
        sa.select(Member.tier_code, sa.func.count()).where(Member.is_customer)
        .group_by(Member.tier_code)
    ).all())
    result = [TierCount(r.code, r.name, int(counts.pop(r.code, 0)), True) for r in rules]
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
