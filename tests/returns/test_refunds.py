"""Refunds: whole or partial, exact to the cent, never more than was paid, recorded through
the order's payment method; and every figure of money taken follows (one definition:
`Order.revenue`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.analytics.snapshots import load_history
from app.campaigns import services as campaigns
from app.core.db import utcnow
from app.core.extensions import db
from app.crm import stats
from app.grades.spend import qualifying_spend
from app.grades.table import ensure_default_tiers
from app.models import (
    AuditEntry,
    CampaignRecipient,
    CampaignStatus,
    GradeChange,
    GradeReason,
    Member,
    Order,
    OutboxMail,
    RecipientGroup,
    Refund,
)
from app.ordering.orders import change_status
from app.returns.refunds import RefundRefused, lines_value, refund_order
from tests.factories import make_admin, make_book, make_member, make_staff
from tests.returns.support import paid_order


def test_partial_refunds_sum_exactly_to_the_paid_total_and_not_a_cent_more(ctx):
    staff = make_staff()
    order = paid_order()  # 80.00 paid
    refund_order(order, lines=D("33.33"), actor=staff)
    refund_order(order, lines=D("26.66"), shipping=D("10.00"), actor=staff)
    refund_order(order, goodwill=D("10.01"), actor=staff)
    db.session.commit()

    assert order.refunded == D("80.00") and order.refunded_cents == 8000
    assert order.revenue == D("0.00")
    assert db.session.scalar(sa.select(Order.revenue).where(Order.id == order.id)) == D("0.00")
    with pytest.raises(RefundRefused, match="At most"):
        refund_order(order, goodwill=D("0.01"), actor=staff)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 3


def test_a_refund_larger_than_what_is_left_is_refused_and_writes_nothing(ctx):
    staff = make_staff()
    order = paid_order()
    refund_order(order, lines=D("50.00"), actor=staff)
    db.session.commit()

    with pytest.raises(RefundRefused) as refused:
        refund_order(order, lines=D("30.01"), actor=staff)
    assert "30.00" in refused.value.message
    db.session.rollback()
    assert db.session.get(Order, order.id).refunded_cents == 5000
    assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 1


@pytest.mark.parametrize("parts, message", [
    ({}, "Enter an amount"),
    ({"lines": D("-1.00")}, "negative"),
    ({"lines": D("1.005")}, "to the cent"),
    ({"shipping": D("10.01")}, "shipping"),
])
def test_refunds_refuse_nothing_negative_fractions_of_a_cent_and_too_much_shipping(
        ctx, parts, message):
    order = paid_order()
    with pytest.raises(RefundRefused, match=message):
        refund_order(order, actor=make_staff(), **parts)


def test_shipping_is_refunded_at_most_once_over_several_refunds(ctx):
    staff = make_staff()
    order = paid_order()
    refund_order(order, shipping=D("6.00"), actor=staff)
    with pytest.raises(RefundRefused, match="shipping"):
        refund_order(order, shipping=D("4.01"), actor=staff)
    refund_order(order, shipping=D("4.00"), actor=staff)


def test_an_order_not_paid_or_cancelled_cannot_be_refunded(ctx):
    order = paid_order(delivered=False)
    change_status(order, "cancelled")
    with pytest.raises(RefundRefused, match="paid order"):
        refund_order(order, goodwill=D("1.00"), actor=make_staff())


def test_the_offline_method_records_who_refunded_and_how_and_it_is_audited(ctx):
    staff = make_staff(email="till@example.test")
    order = paid_order()
    refund = refund_order(order, lines=D("20.00"), shipping=D("10.00"), actor=staff,
                          note="to IBAN ending 42")
    db.session.commit()

    assert refund.payment_method == "bank_transfer"
    assert refund.how == ("30.00 transferred back to the customer's account by "
                          "till@example.test: to IBAN ending 42")
    assert (refund.amount, refund.lines_amount, refund.shipping_amount) == (
        D("30.00"), D("20.00"), D("10.00"))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "order.refund"))
    assert entry.actor_id == staff.id and entry.after["amount"] == "30.00"
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.kind == "refund_issued"))
    assert mail.to_email == order.member.email and "30.00" in mail.subject


def test_the_value_of_returned_copies_is_their_share_after_the_member_discount(ctx):
    order = paid_order()
    order.discount_total = D("7.00")  # 10 % off the 70.00 of books
    twenty, thirty = order.lines
    assert lines_value(order, {twenty.id: 2, thirty.id: 1}) == D("63.00")
    assert lines_value(order, {twenty.id: 1}) == D("18.00")


# --------------------------------------------------------------------------- every figure


def test_a_refund_lowers_the_members_lifetime_spend_and_qualifying_spend(ctx):
    member = make_member()
    order = paid_order(member)
    db.session.commit()
    assert (member.lifetime_spend, member.qualifying_spend) == (D("80.00"), D("80.00"))

    refund_order(order, lines=D("25.50"), actor=make_staff())
    db.session.commit()

    member = db.session.get(Member, member.id)
    assert member.lifetime_spend == D("54.50")
    assert member.qualifying_spend == D("54.50") == qualifying_spend(member.id)


def test_a_refund_lowers_the_dashboards_revenue(ctx):
    order = paid_order()
    db.session.commit()
    before = stats.period_figures(utcnow())[0].revenue.current
    refund_order(order, goodwill=D("5.00"), actor=make_staff())
    db.session.commit()
    assert stats.period_figures(utcnow())[0].revenue.current == before - D("5.00")
    today = stats.daily_series(utcnow())[-1]
    assert today.revenue == D("75.00")


def test_a_refund_lowers_the_lifetime_value_inputs(ctx):
    member = make_member()
    order = paid_order(member)
    db.session.commit()
    refund_order(order, lines=D("40.00"), actor=make_staff())
    db.session.commit()
    history = load_history()
    assert int(history.orders.cents.sum()) == 4000


def test_a_refund_lowers_the_campaign_uplift(ctx):
    admin = make_admin()
    campaign = campaigns.create(admin, name="Spring", subject="Hi {name}", message="Hello",
                                audience_kind="tier", audience_value="regular",
                                holdout_rate=D("0"))
    db.session.flush()
    sent = campaign.created_at - timedelta(days=1)
    campaign.status, campaign.sent_at = CampaignStatus.SENT, sent
    member = make_member()
    db.session.add(CampaignRecipient(campaign_id=campaign.id, member_id=member.id,
                                     group=RecipientGroup.MAILED))
    campaign.mailed_count = 1
    order = paid_order(member)
    db.session.commit()
    assert campaigns.results(campaign).mailed.revenue == D("80.00")

    refund_order(order, lines=D("30.00"), actor=make_staff())
    db.session.commit()
    assert campaigns.results(campaign).mailed.revenue == D("50.00")


# --------------------------------------------------------------------------- grades


def _silver_member():
    ensure_default_tiers()
    member = make_member()
    order = paid_order(member, lines=[(make_book(price=D("520.00")), 1)], shipping="0.00")
    db.session.commit()
    assert member.tier_code == "silver"
    return member, order


def test_a_refund_demotes_by_default_with_a_grade_change_naming_the_refund(ctx):
    member, order = _silver_member()
    staff = make_staff()
    refund = refund_order(order, lines=D("30.00"), actor=staff)
    db.session.commit()

    member = db.session.get(Member, member.id)
    assert (member.tier_code, member.qualifying_spend) == ("regular", D("490.00"))
    change = db.session.scalars(sa.select(GradeChange).where(GradeChange.member_id == member.id)
                                .order_by(GradeChange.id.desc())).first()
    assert (change.from_code, change.to_code, change.reason) == (
        "silver", "regular", GradeReason.REFUND)
    assert change.refund_id == refund.id and change.order_id == order.id
    assert change.actor_id == staff.id and f"Refund #{refund.id}" in change.note


class TestWithTheKeepPolicy:
    @pytest.fixture
    def app_config(self):
        return {"REFUND_GRADE_POLICY": "keep"}

    def test_a_refund_lowers_the_spend_but_not_the_grade(self, ctx):
        member, order = _silver_member()
        refund_order(order, lines=D("30.00"), actor=make_staff())
        db.session.commit()

        member = db.session.get(Member, member.id)
        assert (member.tier_code, member.qualifying_spend) == ("silver", D("490.00"))
        assert db.session.scalar(sa.select(sa.func.count(GradeChange.id))
                                 .where(GradeChange.reason == GradeReason.REFUND)) == 0

    def test_no_later_regrade_undoes_it_and_refunded_money_never_raises_a_grade(self, ctx):
        """"keep" is kept: a small order paid later (TIER_DEMOTION "demote" would follow the
        spend after refunds down) and the nightly regrade leave the member silver."""
        from app.grades.bulk_regrade import recompute_all

        member, order = _silver_member()
        refund_order(order, lines=D("30.00"), actor=make_staff())
        db.session.commit()
        paid_order(member, lines=[(make_book(price=D("5.00")), 1)], shipping="0.00")
        db.session.commit()
        member = db.session.get(Member, member.id)
        assert (member.tier_code, member.qualifying_spend) == ("silver", D("495.00"))
        recompute_all()
        db.session.commit()
        assert db.session.get(Member, member.id).tier_code == "silver"

        # The floor never lifts a grade: a regular member's refunded spend earns nothing.
        other = make_member()
        big = paid_order(other, lines=[(make_book(price=D("400.00")), 1)], shipping="0.00")
        refund_order(big, lines=D("400.00"), actor=make_staff())
        paid_order(other, lines=[(make_book(price=D("150.00")), 1)], shipping="0.00")
        db.session.commit()
        assert db.session.get(Member, other.id).tier_code == "regular"


def test_a_refund_form_sent_twice_makes_one_refund(ctx):
    staff = make_staff()
    order = paid_order()
    first = refund_order(order, goodwill=D("5.00"), actor=staff, form_key="k1")
    again = refund_order(order, goodwill=D("5.00"), actor=staff, form_key="k1")
    other = refund_order(order, goodwill=D("5.00"), actor=staff, form_key="k2")
    db.session.commit()
    assert again.id == first.id != other.id
    assert order.refunded == D("10.00")
    assert len(list(db.session.scalars(sa.select(OutboxMail).where(
        OutboxMail.kind == "refund_issued")))) == 2
