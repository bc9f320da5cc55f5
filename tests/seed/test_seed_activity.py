"""The demo's recent activity (issue 22): on a fresh seed the admin's screens have something
to show: a sent campaign with its hold-out and uplift, demands with the arrival mails that
answered them, a mail log, and follow-ups due today. Seeded at a fixed moment (SEED_NOW)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.campaigns import services as campaigns
from app.core.extensions import db
from app.models import (
    Campaign,
    CampaignStatus,
    Demand,
    DemandStatus,
    Interaction,
    MailStatus,
    OutboxMail,
    StockReceipt,
)
from tests.pages import log_in
from tests.seed import test_seed as seed_module

SEED_NOW = seed_module.SEED_NOW
seeded_file = seed_module.seeded_file  # the seeded database, shared fixtures
seeded = seed_module.seeded

NOW = datetime.fromisoformat(SEED_NOW).replace(tzinfo=UTC)


def _count(stmt) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def test_a_campaign_was_sent_four_weeks_ago_with_a_hold_out_and_an_uplift_report(seeded):
    (campaign,) = db.session.scalars(sa.select(Campaign)).all()

    assert campaign.status is CampaignStatus.SENT
    assert (NOW - campaign.sent_at.replace(tzinfo=UTC)).days == 28
    assert campaign.mailed_count > 100 and campaign.holdout_count > 10
    mails = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "campaign")).all()
    assert len(mails) == campaign.mailed_count
    assert {m.status for m in mails} == {MailStatus.SENT}  # nothing goes out on `make run`
    result = campaigns.results(campaign, now=NOW)
    assert result is not None


def test_demands_have_a_history_with_arrival_mails_and_receipts(seeded):
    statuses = dict(db.session.execute(
        sa.select(Demand.status, sa.func.count()).group_by(Demand.status)).all())
    arrivals = db.session.scalars(sa.select(OutboxMail).where(
        OutboxMail.kind == "stock_arrived")).all()

    assert statuses.get(DemandStatus.OPEN, 0) >= 10
    assert statuses.get(DemandStatus.FULFILLED, 0) >= 10
    assert statuses.get(DemandStatus.EXPIRED, 0) >= 3
    assert len(arrivals) == sum(n for s, n in statuses.items() if s is not DemandStatus.OPEN)
    assert all(m.status is MailStatus.SENT and m.sent_at < NOW
               for m in arrivals)
    assert _count(sa.select(StockReceipt).where(StockReceipt.notified_count > 0)) >= 5
    open_keys = db.session.scalars(sa.select(Demand.open_key).where(
        Demand.status == DemandStatus.OPEN)).all()
    assert None not in open_keys and len(set(open_keys)) == len(open_keys)


def test_the_mail_log_has_order_confirmations_and_follow_ups_are_due_today(seeded):
    assert _count(sa.select(OutboxMail).where(OutboxMail.kind == "order_confirmation")) >= 50
    due = _count(sa.select(Interaction).where(Interaction.follow_up_on == NOW.date(),
                                              Interaction.follow_up_done_at.is_(None)))
    assert due >= 2


@pytest.mark.parametrize("path", ["/admin/campaigns/1", "/admin/demand", "/admin/mail/",
                                  "/admin/stock/receipts", "/admin/"])
def test_the_admin_screens_show_it(seeded, path):
    client = seeded.test_client()
    log_in(client, "admin@bookstation.test", "bookstation-admin")

    response = client.get(path)

    assert response.status_code == 200
