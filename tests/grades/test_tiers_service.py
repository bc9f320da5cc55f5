"""Member grades on a real database: spend, thresholds, demotion, table changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.errors import InvalidInput
from app.core.extensions import db
from app.grades.bulk_regrade import recompute_all, regrade_all, replace_table
from app.grades.errors import TierTableInvalid
from app.grades.grading import DEFAULT_RULES, TierRule
from app.grades.reading import tier_counts
from app.grades.spend import qualifying_spend
from app.grades.staff_grades import release_member_grade, set_member_grade
from app.grades.table import ensure_default_tiers, load_rules, table_is_saved
from app.models import (
    AuditEntry,
    GradeChange,
    GradeReason,
    Member,
    Order,
    OrderStatus,
    OutboxMail,
    Tier,
)
from app.ordering import cart, checkout
from app.ordering.checkout import ShippingAddress, place_order
from app.ordering.orders import change_status
from tests.factories import make_admin, make_book, make_member, make_placed_order

D = Decimal
ADDRESS = ShippingAddress(name="Ada Reader", line1="1 Library Lane", city="Shanghai",
                          postcode="200000", country="China")


def placed(member: Member, total: str, **overrides) -> Order:
    """A placed order whose total (what the member pays) is exactly `total`."""
    amount = D(total)
    return make_placed_order(member, subtotal=amount, shipping_fee=D("0.00"), total=amount,
                             **overrides)


def paid(member: Member, total: str, **overrides) -> Order:
    order = placed(member, total, **overrides)
    change_status(order, OrderStatus.PAID)
    return order


def changes(member: Member) -> list[tuple]:
    return [(c.from_code, c.to_code, c.reason, c.order_id) for c in db.session.scalars(
        sa.select(GradeChange).where(GradeChange.member_id == member.id).order_by(GradeChange.id)
    )]


def reload(member: Member) -> Member:
    db.session.expire_all()
    return db.session.get(Member, member.id)


@pytest.fixture
def table(ctx):
    ensure_default_tiers()
    db.session.commit()


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(("total", "grade"), [("499.99", "regular"), ("500.00", "silver"),
                                              ("1999.99", "silver"), ("2000.00", "gold")])
def test_reaching_a_threshold_exactly_makes_the_grade_and_a_cent_less_does_not(
        table, total, grade):
    member = make_member()

    paid(member, total)
    db.session.commit()

    assert reload(member).tier_code == grade


def test_paying_an_order_across_a_threshold_upgrades_the_member_at_once(table):
    member = make_member()
    paid(member, "480.00")
    order = placed(member, "30.00")

    change_status(order, OrderStatus.PAID)
    db.session.commit()

    member = reload(member)
    assert (member.tier_code, member.qualifying_spend) == ("silver", D("510.00"))
    assert changes(member) == [("regular", "silver", GradeReason.ORDER_PAID, order.id)]


def test_the_next_checkout_after_an_upgrade_gets_the_new_discount_and_the_order_keeps_it(table):
    member = make_member()
    book = make_book(title="Dune", price=D("100.00"), stock_on_hand=10)
    paid(member, "490.00")
    first = place_order(member, address=ADDRESS, payment_method="cod",
                        lines=[(book.id, 1)], notify=False)
    assert (first.tier_code, first.discount_rate, first.discount_total) == (
        "regular", D("0"), D("0.00"))

    change_status(first, OrderStatus.PAID)  # 490 + 100 = 590: Silver
    db.session.commit()
    cart.add(member, {}, book.id, 2)
    view = cart.lines(member, {}, discount_rate=checkout.member_discount_rate(member))
    second = place_order(member, address=ADDRESS, payment_method="cod", notify=False)
    db.session.commit()

    assert (view.quote.discount_rate, view.quote.discount) == (D("0.05"), D("10.00"))
    assert (second.tier_code, second.discount_rate) == ("silver", D("0.0500"))
    assert (second.subtotal, second.discount_total, second.total) == (
        D("200.00"), D("10.00"), D("190.00"))


def test_the_discount_follows_a_grade_raised_by_another_transaction_without_logging_in_again(
        app, table):
    member = make_member()
    db.session.commit()
    assert checkout.member_discount_rate(member) == D("0")

    with app.app_context():  # another request pays an order meanwhile
        other = db.session.get(Member, member.id)
        paid(other, "2500.00")
        db.session.commit()

    assert checkout.member_discount_rate(member) == D("0.1000")
    assert member.tier_code == "gold"


def test_placed_and_cancelled_orders_do_not_count_towards_the_spend(table):
    member = make_member()
    paid(member, "100.00")
    placed(member, "900.00")
    change_status(placed(member, "700.00"), OrderStatus.CANCELLED)

    assert qualifying_spend(member) == D("100.00")


def test_shipped_and_delivered_orders_still_count(table):
    member = make_member()
    order = paid(member, "600.00")
    change_status(order, OrderStatus.SHIPPED)
    change_status(order, OrderStatus.DELIVERED)
    db.session.commit()

    assert qualifying_spend(member) == D("600.00")
    assert reload(member).tier_code == "silver"


def test_the_spend_is_what_the_member_paid_after_their_discount(table):
    member = make_member(tier_code="gold")
    book = make_book(price=D("100.00"), stock_on_hand=10)
    order = place_order(member, address=ADDRESS, payment_method="cod", lines=[(book.id, 3)],
                        notify=False)

    change_status(order, OrderStatus.PAID)

    assert order.total == D("270.00")  # 300 less 10 %
    assert qualifying_spend(member) == D("270.00")


# --------------------------------------------------------------------------- demotion


def test_cancelling_a_paid_order_demotes_under_the_demote_policy(table):
    member = make_member()
    paid(member, "300.00")
    big = paid(member, "300.00")
    assert member.tier_code == "silver"

    change_status(big, OrderStatus.CANCELLED)
    db.session.commit()

    member = reload(member)
    assert (member.tier_code, member.qualifying_spend) == ("regular", D("300.00"))
    assert changes(member)[-1] == ("silver", "regular", GradeReason.ORDER_CANCELLED, big.id)


@pytest.mark.parametrize("app_config", [{"TIER_DEMOTION": "keep"}])
def test_cancelling_a_paid_order_keeps_the_grade_under_the_keep_policy(table):
    member = make_member()
    paid(member, "300.00")
    big = paid(member, "300.00")

    change_status(big, OrderStatus.CANCELLED)
    db.session.commit()

    member = reload(member)
    assert (member.tier_code, member.qualifying_spend) == ("silver", D("300.00"))
    assert [c[1] for c in changes(member)] == ["silver"]


def test_cancelling_an_order_that_was_never_paid_changes_no_grade(table):
    member = make_member()
    order = placed(member, "800.00")

    change_status(order, OrderStatus.CANCELLED)

    assert changes(member) == []


# --------------------------------------------------------------------------- rolling window


@pytest.mark.parametrize("app_config", [{"TIER_WINDOW_MONTHS": 12}])
def test_a_rolling_window_counts_only_orders_paid_in_its_months(table):
    member = make_member()
    now = datetime.now(UTC)
    old = paid(member, "450.00")
    old.paid_at = now - timedelta(days=400)
    db.session.flush()

    paid(member, "100.00")
    db.session.commit()

    member = reload(member)
    assert (member.qualifying_spend, member.tier_code) == (D("100.00"), "regular")


@pytest.mark.parametrize("app_config", [{"TIER_WINDOW_MONTHS": 12}])
def test_a_grade_lapses_when_its_orders_leave_the_window_and_grades_are_recomputed(table):
    member = make_member()
    paid(member, "600.00")
    db.session.commit()
    assert reload(member).tier_code == "silver"

    report = regrade_all(now=datetime.now(UTC) + timedelta(days=370))
    db.session.commit()

    member = reload(member)
    assert (member.tier_code, member.qualifying_spend) == ("regular", D("0.00"))
    assert report.demoted == 1


@pytest.mark.parametrize("app_config", [{"TIER_WINDOW_MONTHS": 12, "TIER_DEMOTION": "keep"}])
def test_keep_holds_a_grade_until_its_window_ends(table):
    member = make_member()
    paid(member, "600.00")
    db.session.commit()
    start = datetime.now(UTC)

    regrade_all(now=start + timedelta(days=200))
    inside = reload(member).tier_code
    regrade_all(now=start + timedelta(days=370))
    after = reload(member).tier_code

    assert (inside, after) == ("silver", "regular")


# --------------------------------------------------------------------------- the table


NEW_TABLE = [
    TierRule("regular", "Regular", D("0.00"), D("0.00")),
    TierRule("bronze", "Bronze", D("100.00"), D("0.02"), "A bookmark with every order."),
    TierRule("silver", "Silver", D("1000.00"), D("0.06")),
]


def test_replacing_the_table_regrades_every_member_in_one_pass(table):
    admin = make_admin()
    a, b, c, d = make_member(), make_member(), make_member(), make_member()
    paid(a, "150.00")  # Regular -> Bronze
    paid(b, "700.00")  # Silver -> Bronze (Silver now starts at 1000)
    paid(c, "2500.00")  # Gold (gone from the table) -> Silver
    db.session.commit()

    report = replace_table(NEW_TABLE, admin)
    db.session.commit()

    grades = {m.id: reload(m).tier_code for m in (a, b, c, d)}
    assert grades == {a.id: "bronze", b.id: "bronze", c.id: "silver", d.id: "regular"}
    assert (report.changed, report.promoted, report.demoted) == (3, 1, 2)
    assert changes(c)[-1] == ("gold", "silver", GradeReason.TABLE_CHANGE, None)
    last = db.session.scalars(sa.select(GradeChange).order_by(GradeChange.id.desc())).first()
    assert last.actor_id == admin.id
    assert [(t.code, t.min_spend, t.discount_rate, t.position) for t in db.session.scalars(
        sa.select(Tier).order_by(Tier.position))] == [
        ("regular", D("0.00"), D("0.0000"), 0), ("bronze", D("100.00"), D("0.0200"), 1),
        ("silver", D("1000.00"), D("0.0600"), 2)]


def test_replacing_the_table_is_audited_by_the_service_with_the_old_and_new_table(table):
    admin = make_admin()

    replace_table(NEW_TABLE, admin)
    db.session.commit()

    (entry,) = db.session.scalars(sa.select(AuditEntry)).all()
    assert (entry.action, entry.actor_id, entry.target_type) == ("tier.table", admin.id, "tier")
    assert [t["code"] for t in entry.before["tiers"]] == ["regular", "silver", "gold",
                                                          "platinum"]
    assert [t["code"] for t in entry.after["tiers"]] == ["regular", "bronze", "silver"]


def test_a_bad_table_is_refused_with_its_problems_and_the_old_one_is_kept(table):
    member = make_member()
    paid(member, "600.00")
    db.session.commit()
    bad = [TierRule("regular", "Regular", D("0"), D("0.05")),
           TierRule("silver", "Silver", D("-1"), D("0.02"))]

    with pytest.raises(TierTableInvalid) as refused:
        replace_table(bad, None)
    db.session.rollback()

    assert {(p.index, p.field) for p in refused.value.problems} == {
        (1, "min_spend"), (1, "discount_rate")}
    assert "The threshold cannot be negative." in refused.value.message
    assert load_rules() == DEFAULT_RULES
    assert reload(member).tier_code == "silver"


def test_the_default_table_is_written_once_and_only_when_there_is_none(ctx):
    assert not table_is_saved()

    ensure_default_tiers()
    ensure_default_tiers()

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tier)) == 4
    assert load_rules() == DEFAULT_RULES


def test_grades_work_with_the_default_table_before_any_is_saved(ctx):
    member = make_member()

    paid(member, "2000.00")

    assert member.tier_code == "gold"
    assert table_is_saved()


def test_members_per_tier_are_counted_in_table_order(table):
    for _ in range(2):
        paid(make_member(), "600.00")
    make_member()
    make_member(tier_code="legacy")

    counts = [(c.code, c.members, c.in_table) for c in tier_counts()]

    assert counts == [("regular", 1, True), ("silver", 2, True), ("gold", 0, True),
                      ("platinum", 0, True), ("legacy", 1, False)]


# --------------------------------------------------------------------------- by hand


def test_an_admin_sets_a_grade_by_hand_with_a_reason_that_is_recorded(table):
    admin, member = make_admin(), make_member()

    change = set_member_grade(member, "gold", "  Loyal customer since the shop opened ", admin)
    db.session.commit()

    member = reload(member)
    assert (member.tier_code, member.tier_is_manual) == ("gold", True)
    assert (change.reason, change.actor_id, change.note) == (
        GradeReason.ADMIN, admin.id, "Loyal customer since the shop opened")


def test_a_grade_set_or_released_by_hand_is_audited_by_the_service_itself(table):
    admin, member = make_admin(), make_member()
    paid(member, "600.00")

    set_member_grade(member, "platinum", "Trial", admin)
    release_member_grade(member, "Trial over", admin)
    db.session.commit()

    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, e.target_type, e.target_id) for e in entries] == [
        ("tier.grade_set", admin.id, "member", member.id),
        ("tier.grade_release", admin.id, "member", member.id)]
    assert (entries[0].before, entries[0].after) == (
        {"tier_code": "silver", "tier_is_manual": False},
        {"tier_code": "platinum", "tier_is_manual": True})
    assert entries[1].summary.endswith(": Trial over")


def test_a_refused_grade_change_writes_no_audit_entry(table):
    with pytest.raises(InvalidInput):
        set_member_grade(make_member(), "diamond", "Why not", make_admin())

    assert db.session.scalars(sa.select(AuditEntry)).all() == []


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_setting_a_grade_by_hand_needs_a_reason_of_sensible_length(table, reason):
    with pytest.raises(InvalidInput):
        set_member_grade(make_member(), "gold", reason, make_admin())


def test_setting_an_unknown_grade_is_refused(table):
    with pytest.raises(InvalidInput):
        set_member_grade(make_member(), "diamond", "Why not", make_admin())


def test_a_hand_set_grade_holds_when_a_paid_order_is_cancelled(table):
    admin, member = make_admin(), make_member()
    order = paid(member, "100.00")
    set_member_grade(member, "gold", "Compensation for a lost parcel", admin)

    change_status(order, OrderStatus.CANCELLED)

    assert (member.tier_code, member.tier_is_manual) == ("gold", True)


def test_a_hand_set_grade_gives_way_once_spend_earns_a_higher_one(table):
    admin, member = make_admin(), make_member()
    set_member_grade(member, "gold", "Press partner", admin)
    paid(member, "4000.00")
    assert (member.tier_code, member.tier_is_manual) == ("gold", True)

    paid(member, "1000.00")

    assert (member.tier_code, member.tier_is_manual) == ("platinum", False)


def test_releasing_a_hand_set_grade_returns_the_member_to_what_spend_earns(table):
    admin, member = make_admin(), make_member()
    paid(member, "600.00")
    set_member_grade(member, "platinum", "Trial", admin)

    release_member_grade(member, "Trial over", admin)

    assert (member.tier_code, member.tier_is_manual) == ("silver", False)


# --------------------------------------------------------------------------- everyone


def test_recomputing_rebuilds_every_spend_and_grade_from_the_orders(table):
    member = make_member()
    paid(member, "2500.00")
    db.session.execute(sa.update(Member).where(Member.id == member.id)
                       .values(qualifying_spend=D("0.00"), tier_code="regular"))
    db.session.commit()

    report = recompute_all()
    db.session.commit()

    member = reload(member)
    assert (member.qualifying_spend, member.tier_code) == (D("2500.00"), "gold")
    assert report.promoted == 1
    assert changes(member)[-1][:3] == ("regular", "gold", GradeReason.RECOMPUTE)


def test_the_tiers_recompute_command_rebuilds_grades(app, runner):
    with app.app_context():
        member = make_member()
        paid(member, "700.00")
        db.session.execute(sa.update(Member).values(tier_code="regular"))
        db.session.commit()
        member_id = member.id
        mails_before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail))

    result = runner.invoke(args=["tiers", "recompute", "--no-mail"])

    assert result.exit_code == 0, result.output
    assert "1 member changed grade" in result.output
    with app.app_context():
        assert db.session.get(Member, member_id).tier_code == "silver"
        mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail))
        assert mails == mails_before  # --no-mail


# --------------------------------------------------------------------------- counts


def test_members_per_grade_count_customers_only_not_staff_admins_or_erased_accounts(table):
    for _ in range(3):
        make_member(tier_code="regular")
    make_member(tier_code="silver")
    make_admin(tier_code="regular")
    make_member(role="staff", tier_code="regular")
    make_member(tier_code="regular", erased_at=datetime(2026, 1, 2, tzinfo=UTC),
                is_active_account=False)
    db.session.commit()

    counts = {c.code: c.members for c in tier_counts()}

    assert counts == {"regular": 3, "silver": 1, "gold": 0, "platinum": 0}
