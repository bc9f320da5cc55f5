"""Campaigns (issue 5): a reproducible random hold-out, opt-outs honoured, mail through the
outbox, the uplift arithmetic, and who may draft and who may send."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.analytics import inference
from app.campaigns import services as campaigns
from app.core.extensions import db
from app.mail.sender import deliver_due
from app.models import (
    AuditEntry,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Member,
    OrderStatus,
    OutboxMail,
    RecipientGroup,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    make_admin,
    make_book,
    make_member,
    make_placed_order,
    make_staff,
)
from tests.helpers import counting_statements
from tests.pages import post_login


def test_the_holdout_is_drawn_reproducibly_from_the_seed():
    ids = list(range(1, 101))
    mailed, holdout = campaigns.split(ids, Decimal("0.1"), seed=42)
    again_mailed, again_holdout = campaigns.split(list(reversed(ids)), Decimal("0.1"), seed=42)
    _other, other_holdout = campaigns.split(ids, Decimal("0.1"), seed=43)

    assert len(holdout) == 10 and len(mailed) == 90
    assert set(mailed) | set(holdout) == set(ids) and not set(mailed) & set(holdout)
    assert (again_mailed, again_holdout) == (mailed, holdout)
    assert other_holdout != holdout


def test_holdout_sizes_round_half_up_and_handle_tiny_audiences():
    assert len(campaigns.split(range(15), Decimal("0.1"), 1)[1]) == 2   # 1.5 -> 2
    assert campaigns.split([], Decimal("0.1"), 1) == ([], [])
    assert campaigns.split([7], Decimal("0"), 1) == ([7], [])


def _campaign(actor, **overrides):
    values = {"name": "Spring", "subject": "Hello {name}", "message": "Dear {name},\n\nNew books!",
              "audience_kind": "tier", "audience_value": "regular",
              "holdout_rate": Decimal("0.25")}
    values.update(overrides)
    return campaigns.create(actor, **values)


def test_sending_mails_the_group_skips_the_holdout_and_opt_outs(ctx):
    admin = make_admin()
    members = [make_member(name=f"Reader {n}") for n in range(8)]
    quiet = make_member(mail_opt_in=False)
    make_member(tier_code="gold")  # not in the audience
    make_book(title="Best seller", sold_count=10)
    campaign = _campaign(admin)
    db.session.commit()

    report = campaigns.send(campaign, admin)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 0  # not in the request
    assert campaigns.queued_count(campaign) == 6
    assert campaigns.enqueue_pending() == 6  # what every mail sender pass does
    db.session.commit()

    assert (report.mailed, report.holdout, report.opted_out) == (6, 2, 1)
    assert campaigns.queued_count(campaign) == 0 and campaigns.enqueue_pending() == 0
    groups = dict(db.session.execute(sa.select(CampaignRecipient.member_id,
                                               CampaignRecipient.group)).all())
    assert groups[quiet.id] is RecipientGroup.OPTED_OUT
    expected_mailed, expected_holdout = campaigns.split([m.id for m in members],
                                                        Decimal("0.25"), campaign.holdout_seed)
    assert {m for m, g in groups.items() if g is RecipientGroup.HOLDOUT} == set(expected_holdout)
    outbox = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "campaign")).all()
    assert sorted(m.member_id for m in outbox) == sorted(expected_mailed)
    assert {m.dedupe_key for m in outbox} == {f"campaign:{campaign.id}:{m}"
                                              for m in expected_mailed}
    assert campaign.status is CampaignStatus.SENT
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "campaign.send"))
    assert entry.after["mailed"] == 6 and entry.after["seed"] == campaign.holdout_seed

    with pytest.raises(campaigns.CampaignError):
        campaigns.send(campaign, admin)


def test_the_campaign_mail_arrives_with_the_name_and_recommendations(ctx, smtp_inbox):
    admin = make_admin()
    make_member(name="Ada Lovelace", email="ada@example.test")
    book = make_book(title="Engines of Wonder", sold_count=10)
    campaign = _campaign(admin, holdout_rate=Decimal("0"))
    db.session.commit()
    campaigns.send(campaign, admin)
    db.session.commit()
    campaigns.enqueue_pending()
    db.session.commit()

    deliver_due()

    [message] = smtp_inbox.parsed()
    assert message["Subject"] == "Hello Ada Lovelace"
    text = message.get_body(("plain",)).get_content()
    assert "Dear Ada Lovelace," in text and "Engines of Wonder" in text
    assert f"http://localhost/book/{book.id}" in text


def test_a_member_who_opts_out_after_queueing_gets_nothing(ctx, smtp_inbox):
    admin = make_admin()
    member = make_member()
    campaign = _campaign(admin, holdout_rate=Decimal("0"))
    db.session.commit()
    campaigns.send(campaign, admin)
    campaigns.enqueue_pending()
    member.mail_opt_in = False
    db.session.commit()

    assert deliver_due().sent == [] and smtp_inbox.messages == []


def test_a_large_audience_is_queued_in_batches_each_mail_once(ctx):
    admin = make_admin()
    for n in range(7):
        make_member(name=f"Reader {n}")
    campaign = _campaign(admin, holdout_rate=Decimal("0"))
    db.session.commit()
    campaigns.send(campaign, admin)
    db.session.commit()

    batches = []
    while (queued := campaigns.enqueue_pending(limit=3)):
        db.session.commit()
        batches.append(queued)

    assert batches == [3, 3, 1]
    keys = db.session.scalars(sa.select(OutboxMail.dedupe_key)).all()
    assert len(keys) == len(set(keys)) == 7
    assert all(r.outbox_id for r in db.session.scalars(sa.select(CampaignRecipient)))


def test_an_empty_segment_sends_nothing_and_does_not_crash(ctx):
    admin = make_admin()
    make_member()
    campaign = _campaign(admin, audience_kind="segment", audience_value="champions")
    db.session.commit()
    report = campaigns.send(campaign, admin)
    assert (report.mailed, report.holdout, report.opted_out) == (0, 0, 0)
    assert campaigns.results(campaign).revenue_per_member is None


def test_the_uplift_compares_orders_and_revenue_per_member(ctx):
    admin = make_admin()
    campaign = _campaign(admin, holdout_rate=Decimal("0"))
    db.session.flush()
    sent = campaign.created_at
    campaign.status, campaign.sent_at = CampaignStatus.SENT, sent
    mailed = [make_member() for _ in range(4)]
    held = [make_member() for _ in range(2)]
    for m in mailed:
        db.session.add(CampaignRecipient(campaign_id=campaign.id, member_id=m.id,
                                         group=RecipientGroup.MAILED))
    for m in held:
        db.session.add(CampaignRecipient(campaign_id=campaign.id, member_id=m.id,
                                         group=RecipientGroup.HOLDOUT))
    campaign.mailed_count, campaign.holdout_count = 4, 2

    def order(member, total, days, status=OrderStatus.PAID):
        make_placed_order(member, total=Decimal(total), status=status,
                          placed_at=sent + timedelta(days=days))

    order(mailed[0], "60.00", 1)
    order(mailed[0], "20.00", 3)
    order(mailed[1], "20.00", 13)
    order(mailed[2], "99.00", 2, OrderStatus.CANCELLED)   # cancelled: no
    order(mailed[3], "50.00", 15)                          # after the 14-day window: no
    order(mailed[3], "50.00", -1)                          # before sending: no
    order(held[0], "30.00", 5)
    db.session.commit()

    result = campaigns.results(campaign, now=sent + timedelta(days=20))

    assert result.complete
    assert (result.mailed.members, result.mailed.buyers, result.mailed.orders) == (4, 2, 3)
    assert result.mailed.revenue == Decimal("100.00")
    assert result.mailed.orders_per_member == 0.75 and result.holdout.orders_per_member == 0.5
    assert result.mailed.revenue_per_member == Decimal("25.00")
    assert result.holdout.revenue_per_member == Decimal("15.00")
    assert result.orders_per_member == 0.25
    assert result.revenue_per_member == Decimal("10.00")
    assert result.incremental_revenue == Decimal("40.00")   # 10.00 x 4 mailed members
    assert result.conversion_points == pytest.approx(0.0)  # 50 % bought in both groups
    assert not campaigns.results(campaign, now=sent + timedelta(days=2)).complete


@pytest.fixture
def people(app):
    with app.app_context():
        make_staff(email="clerk@example.test")
        make_admin(email="boss@example.test")
        make_member(name="Ann Reader")
        make_book(title="Shelf filler", sold_count=3)
        db.session.commit()


FORM = {"name": "Autumn", "audience": "tier:regular", "subject": "For you, {name}",
        "message": "Hello {name}!", "holdout": "10"}


def test_staff_draft_and_preview_but_only_an_admin_sends(app, client, auth, people):
    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    response = client.post("/admin/campaigns/new", data=FORM)
    assert response.status_code == 302
    detail_url = response.headers["Location"]
    page = client.get(detail_url).get_data(as_text=True)
    assert "For you, Ann Reader" in page and "Hello Ann Reader!" in page
    assert "Shelf filler" in page and "Only an admin can send" in page
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id))
    assert client.post(f"/admin/campaigns/{campaign_id}/send").status_code == 403

    auth.logout()
    auth.login("boss@example.test", DEFAULT_PASSWORD)
    assert client.post(f"/admin/campaigns/{campaign_id}/send").status_code == 302
    page = client.get(detail_url).get_data(as_text=True)
    assert 'data-testid="results"' in page
    assert 'data-testid="waiting"' in page  # the mail sender queues the mails, not the request
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEntry.action)))
        assert {"campaign.create", "campaign.send"} <= actions


def test_the_preview_speaks_the_members_language_not_the_staffs(app, client, auth, people):
    """The preview is the mail the member would get: a Chinese reader's is in Chinese, though
    the staff member reads the admin in English (the send renders it so too)."""
    with app.app_context():
        reader = db.session.scalar(sa.select(Member).where(Member.name == "Ann Reader"))
        reader.locale = "zh_Hans"
        db.session.commit()
    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    detail_url = client.post("/admin/campaigns/new", data=FORM).headers["Location"]

    page = client.get(detail_url).get_data(as_text=True)

    assert "Hello Ann Reader!" in page and "Shelf filler" in page
    assert "为您精选" in page and "Picked for you" not in page


def test_the_campaign_list_reads_the_grade_table_once_however_many_rows(app, client, auth,
                                                                       people):
    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    client.post("/admin/campaigns/new", data=FORM)
    client.get("/admin/campaigns")
    with counting_statements(app) as one:
        assert client.get("/admin/campaigns").status_code == 200
    for n in range(6):
        client.post("/admin/campaigns/new", data={**FORM, "name": f"Autumn {n}"})
    with counting_statements(app) as seven:
        page = client.get("/admin/campaigns")

    assert page.status_code == 200 and "Autumn 5" in page.get_data(as_text=True)
    assert len(seven) == len(one), seven


def test_sending_a_campaign_twice_is_refused_and_sent_back_to_it(app, client, auth, people):
    auth.login("boss@example.test", DEFAULT_PASSWORD)
    detail_url = client.post("/admin/campaigns/new", data=FORM).headers["Location"]
    with app.app_context():
        campaign_id = db.session.scalar(sa.select(Campaign.id))
    assert client.post(f"/admin/campaigns/{campaign_id}/send").status_code == 302
    again = client.post(f"/admin/campaigns/{campaign_id}/send")
    assert again.status_code == 303 and again.location.endswith(detail_url)
    assert "This campaign has already been sent." in client.get(detail_url).get_data(
        as_text=True)
    with app.app_context():
        sends = db.session.scalars(sa.select(AuditEntry.action)
                                   .where(AuditEntry.action == "campaign.send")).all()
        assert len(sends) == 1


def test_a_bad_campaign_form_keeps_what_was_typed(app, client, auth, people):
    auth.login("clerk@example.test", DEFAULT_PASSWORD)
    response = client.post("/admin/campaigns/new", data={**FORM, "subject": "",
                                                         "holdout": "80"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Write a subject." in text and "Enter a percentage from 0 to 50." in text
    assert "Hello {name}!" in text


def test_members_cannot_reach_campaigns(app, client, auth):
    with app.app_context():
        make_member(email="shopper@example.test")
        db.session.commit()
    auth.login("shopper@example.test", DEFAULT_PASSWORD)
    assert client.get("/admin/campaigns").status_code == 403
    assert client.post("/admin/campaigns/new", data=FORM).status_code == 403


def _sent(admin, mailed: int, held: int):
    """A sent campaign with `mailed` and `held` new members in its two groups."""
    campaign = _campaign(admin, holdout_rate=Decimal("0"))
    db.session.flush()
    campaign.status, campaign.sent_at = CampaignStatus.SENT, campaign.created_at
    groups = {RecipientGroup.MAILED: [make_member() for _ in range(mailed)],
              RecipientGroup.HOLDOUT: [make_member() for _ in range(held)]}
    for group, members in groups.items():
        for m in members:
            db.session.add(CampaignRecipient(campaign_id=campaign.id, member_id=m.id,
                                             group=group))
    campaign.mailed_count, campaign.holdout_count = mailed, held
    return campaign, groups[RecipientGroup.MAILED], groups[RecipientGroup.HOLDOUT]


def test_what_the_mailing_earned_is_exact_and_rounded_once_and_unpaid_orders_do_not_count(ctx):
    campaign, mailed, held = _sent(make_admin(), mailed=6, held=7)

    def order(member, total, status=OrderStatus.PAID):
        make_placed_order(member, total=Decimal(total), status=status,
                          placed_at=campaign.sent_at + timedelta(days=1))

    order(mailed[0], "60.00")
    order(mailed[1], "40.00", OrderStatus.SHIPPED)
    order(mailed[2], "500.00", OrderStatus.PLACED)    # never paid: no revenue, no buyer
    order(held[0], "50.00", OrderStatus.DELIVERED)
    db.session.commit()

    result = campaigns.results(campaign, now=campaign.sent_at + timedelta(days=20))

    assert (result.mailed.buyers, result.mailed.orders, result.mailed.revenue) == (
        2, 2, Decimal("100.00"))
    assert (result.holdout.buyers, result.holdout.revenue) == (1, Decimal("50.00"))
    # 100/6 - 50/7 = 9.5238... per member; x 6 mailed = 57.142857... -> 57.14 (rounding per
    # member first, 16.67 - 7.14 = 9.53, would claim 57.18)
    assert result.revenue_per_member == Decimal("9.52")
    assert result.incremental_revenue == Decimal("57.14")
    assert result.conversion_interval == inference.newcombe_difference(2, 6, 1, 7)
    low, high = result.incremental_interval
    assert low < 0 < high and result.revenue_interval.includes_zero
    verdict = result.conversion_verdict
    assert not verdict.measurable
    assert verdict.target == pytest.approx(2 / 6 - 1 / 7)
    assert verdict.more_members == inference.members_needed(13, verdict.interval, verdict.target)
    assert verdict.more_members > 0


def test_a_clear_effect_is_called_measurable(ctx):
    campaign, mailed, held = _sent(make_admin(), mailed=40, held=40)
    for m in mailed[:30]:
        make_placed_order(m, total=Decimal("20.00"), status=OrderStatus.PAID,
                          placed_at=campaign.sent_at + timedelta(hours=5))
    make_placed_order(held[0], total=Decimal("20.00"), status=OrderStatus.PAID,
                      placed_at=campaign.sent_at + timedelta(hours=5))
    db.session.commit()

    result = campaigns.results(campaign, now=campaign.sent_at + timedelta(days=20))

    assert result.conversion_verdict.measurable and result.revenue_verdict.measurable
    assert result.conversion_verdict.more_members is None
    assert result.incremental_revenue == Decimal("580.00")   # 600 - 20 x 40/40


def test_the_report_shows_intervals_plain_words_and_the_method(app, client):
    with app.app_context():
        admin = make_admin(email="chief@example.test")
        campaign, mailed, held = _sent(admin, mailed=6, held=7)
        make_placed_order(mailed[0], total=Decimal("100.00"), status=OrderStatus.PAID,
                          placed_at=campaign.sent_at + timedelta(days=1))
        make_placed_order(held[0], total=Decimal("50.00"), status=OrderStatus.PAID,
                          placed_at=campaign.sent_at + timedelta(days=1))
        db.session.commit()
        campaign_id = campaign.id
    post_login(client, "chief@example.test")

    page = client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)

    assert 'data-testid="conversion-difference"' in page
    assert 'data-testid="revenue-difference"' in page
    assert "57.14" in page                       # earned by the mailing, exact
    assert "No measurable effect yet" in page and "more members" in page
    assert "Newcombe" in page and "Welch" in page


@pytest.mark.pg
def test_the_campaign_figures_are_exact_on_postgresql_too(pg_app):
    with pg_app.app_context():
        campaign, mailed, held = _sent(make_admin(), mailed=6, held=7)
        for member, total in ((mailed[0], "60.00"), (mailed[1], "40.00"), (held[0], "50.00")):
            make_placed_order(member, total=Decimal(total), status=OrderStatus.PAID,
                              placed_at=campaign.sent_at + timedelta(days=1))
        make_placed_order(mailed[2], total=Decimal("500.00"), status=OrderStatus.PLACED,
                          placed_at=campaign.sent_at + timedelta(days=1))
        db.session.commit()

        result = campaigns.results(campaign, now=campaign.sent_at + timedelta(days=20))

    assert (result.mailed.buyers, result.mailed.revenue) == (2, Decimal("100.00"))
    assert result.incremental_revenue == Decimal("57.14")
    assert result.conversion_interval == inference.newcombe_difference(2, 6, 1, 7)


def test_a_revenue_difference_of_a_fraction_of_a_cent_asks_a_sensible_question(app, client):
    with app.app_context():
        admin = make_admin(email="chief@example.test")
        campaign, mailed, held = _sent(admin, mailed=4, held=4)
        for member, total in ((mailed[0], "0.10"), (mailed[1], "0.20"), (held[0], "0.30")):
            make_placed_order(member, total=Decimal(total), status=OrderStatus.PAID,
                              placed_at=campaign.sent_at + timedelta(days=1))
        db.session.commit()
        result = campaigns.results(campaign, now=campaign.sent_at + timedelta(days=20))
        campaign_id = campaign.id

        verdict = result.revenue_verdict
        assert result.revenue_interval.estimate == 0.0
        assert not verdict.measurable
        assert verdict.target >= 0.01                  # never "±CN¥0.00"
        assert 0 < verdict.more_members <= inference.MEMBERS_NEEDED_CAP
    post_login(client, "chief@example.test")

    page = client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)

    assert "±CN¥0.00" not in page and "±¥0.00" not in page
    assert "10³³" not in page and "e+" not in page


def test_past_the_cap_the_report_says_more_than(app, client):
    with app.app_context():
        admin = make_admin(email="chief@example.test")
        campaign, mailed, held = _sent(admin, mailed=2, held=2)
        # a cent per member seen, with a spread of thousands: billions more members needed
        for member, total in ((mailed[0], "1000.02"), (held[0], "1000.00")):
            make_placed_order(member, total=Decimal(total), status=OrderStatus.PAID,
                              placed_at=campaign.sent_at + timedelta(days=1))
        db.session.commit()
        campaign_id = campaign.id
    post_login(client, "chief@example.test")

    page = client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)

    assert "more than 1,000,000 more members" in page
