"""Campaigns for chosen customers (issue 21): staff add the ticked customers, or every customer
the list's filters select, to a draft campaign's list from the customer list; adding twice
keeps one row; a sent campaign's list no longer changes; the campaign page shows the list and
takes people off it; the send goes to exactly the active customers on the list, minus the
random hold-out."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.campaigns import services as campaigns
from app.core.extensions import db
from app.crm import erasure, member_export, merging
from app.models import (
    AuditEntry,
    Campaign,
    CampaignListMember,
    CampaignRecipient,
    Member,
    RecipientGroup,
)
from tests.factories import make_admin, make_book, make_member, make_staff
from tests.pages import logged_in_client

CLERK, BOSS = "clerk@example.test", "boss@example.test"


def _draft(actor, kind: str = "list", **overrides) -> Campaign:
    values = {"name": "Book club invitation", "subject": "Hello {name}",
              "message": "Dear {name}, join us.", "audience_kind": kind,
              "audience_value": "regular" if kind == "tier" else None,
              "holdout_rate": Decimal("0.25")}
    values.update(overrides)
    return campaigns.create(actor, **values)


def _listed(campaign_id: int) -> set[int]:
    return set(db.session.scalars(sa.select(CampaignListMember.member_id)
                                  .where(CampaignListMember.campaign_id == campaign_id)))


def _rows() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CampaignListMember))


# --------------------------------------------------------------------------- the service


def test_a_chosen_list_campaign_sends_to_exactly_its_active_customers_minus_the_holdout(ctx):
    admin = make_admin()
    chosen = [make_member(name=f"Chosen {n}") for n in range(8)]
    quiet = make_member(name="Quiet", mail_opt_in=False)
    closed = make_member(name="Closed", is_active_account=False)
    make_member(name="Not chosen")
    campaign = _draft(admin)
    added = campaigns.add_to_list(campaign, admin, [m.id for m in (*chosen, quiet, closed)])
    db.session.commit()

    assert added == 10
    assert campaigns.audience_counts("list", None, campaign.id) == (9, 8)
    assert campaigns.first_mailable("list", None, campaign.id).id == chosen[0].id
    report = campaigns.send(campaign, admin)
    db.session.commit()

    expected_mailed, expected_holdout = campaigns.split([m.id for m in chosen],
                                                        Decimal("0.25"), campaign.holdout_seed)
    groups = dict(db.session.execute(sa.select(CampaignRecipient.member_id,
                                               CampaignRecipient.group)).all())
    assert (report.mailed, report.holdout, report.opted_out) == (6, 2, 1)
    assert {m for m, g in groups.items() if g is RecipientGroup.MAILED} == set(expected_mailed)
    assert {m for m, g in groups.items() if g is RecipientGroup.HOLDOUT} == set(expected_holdout)
    assert {m for m, g in groups.items() if g is RecipientGroup.OPTED_OUT} == {quiet.id}
    assert closed.id not in groups  # on the list, but no longer an active customer


def test_adding_twice_keeps_one_row_and_counts_only_the_new(ctx):
    staff = make_staff()
    a, b, c = make_member(), make_member(), make_member()
    campaign = _draft(staff)
    assert campaigns.add_to_list(campaign, staff, [a.id, b.id]) == 2
    assert campaigns.add_to_list(campaign, staff, [a.id, b.id]) == 0
    assert campaigns.add_to_list(campaign, staff, [b.id, c.id, c.id]) == 1
    assert _rows() == 3 and _listed(campaign.id) == {a.id, b.id, c.id}
    logged = db.session.scalars(sa.select(AuditEntry.after).where(
        AuditEntry.action == "campaign.list_add").order_by(AuditEntry.id)).all()
    assert [entry["added"] for entry in logged] == [2, 0, 1]


def test_staff_and_erased_accounts_are_not_put_on_a_list(ctx):
    admin = make_admin()
    member, colleague = make_member(), make_staff()
    gone = make_member(email="gone@example.test")
    erasure.erase_member(gone, admin)
    campaign = _draft(admin)
    assert campaigns.add_to_list(campaign, admin, [member.id, colleague.id, gone.id]) == 1
    assert _listed(campaign.id) == {member.id}


def test_a_sent_campaign_or_another_audience_refuses_changes_to_its_list(ctx):
    admin = make_admin()
    member = make_member()
    sent = _draft(admin)
    campaigns.add_to_list(sent, admin, [member.id])
    campaigns.send(sent, admin)
    by_grade = _draft(admin, kind="tier", name="Regulars")

    with pytest.raises(campaigns.CampaignError, match="has been sent"):
        campaigns.add_to_list(sent, admin, [make_member().id])
    with pytest.raises(campaigns.CampaignError, match="has been sent"):
        campaigns.remove_from_list(sent, admin, member.id)
    with pytest.raises(campaigns.CampaignError, match="has been sent"):
        campaigns.clear_list(sent, admin)
    with pytest.raises(campaigns.CampaignError, match="not for chosen customers"):
        campaigns.add_to_list(by_grade, admin, [member.id])
    assert _listed(sent.id) == {member.id} and _listed(by_grade.id) == set()


def test_taking_off_and_clearing_a_list(ctx):
    staff = make_staff()
    a, b, c = make_member(), make_member(), make_member()
    campaign = _draft(staff)
    campaigns.add_to_list(campaign, staff, [a.id, b.id, c.id])
    assert campaigns.remove_from_list(campaign, staff, b.id) is True
    assert campaigns.remove_from_list(campaign, staff, b.id) is False
    assert _listed(campaign.id) == {a.id, c.id}
    assert campaigns.clear_list(campaign, staff) == 2
    assert _listed(campaign.id) == set()
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"campaign.list_remove", "campaign.list_clear"} <= actions


def test_a_draft_whose_audience_leaves_the_list_drops_the_list(ctx):
    """Rows of a draft no longer for chosen customers would linger in the export and come
    back silently if the draft were switched back: they go, audited."""
    admin, chosen = make_admin(), make_member(name="Chosen")
    campaign = _draft(admin)
    campaigns.add_to_list(campaign, admin, [chosen.id])
    values = {"name": campaign.name, "subject": campaign.subject, "message": campaign.message,
              "holdout_rate": campaign.holdout_rate}

    campaigns.update(campaign, admin, audience_kind="list", audience_value=None, **values)
    assert _listed(campaign.id) == {chosen.id}  # still for chosen customers: kept
    campaigns.update(campaign, admin, audience_kind="tier", audience_value="regular", **values)
    assert _rows() == 0
    campaigns.update(campaign, admin, audience_kind="list", audience_value=None, **values)
    assert _rows() == 0  # switched back: the old list does not return

    [cleared] = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "campaign.list_clear")).all()
    assert cleared.after["removed"] == 1
    assert member_export.member_data(db.session.get(Member, chosen.id)).get(
        "campaign_lists", []) == []


def test_export_holds_the_lists_erasure_leaves_none_and_a_merge_moves_them(ctx):
    admin = make_admin()
    keep, other, gone = make_member(), make_member(), make_member()
    first, second = _draft(admin, name="First"), _draft(admin, name="Second")
    campaigns.add_to_list(first, admin, [keep.id, other.id, gone.id])
    campaigns.add_to_list(second, admin, [other.id])

    exported = member_export.member_data(other)["campaign_lists"]
    assert [(row["campaign"], row["status"]) for row in exported] == [("First", "draft"),
                                                                      ("Second", "draft")]
    erasure.erase_member(gone, admin)
    merging.merge_members(keep, other, admin)

    assert _listed(first.id) == {keep.id}  # once, though both records were on it
    assert _listed(second.id) == {keep.id}


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def team(app) -> dict:
    """A clerk (staff), a boss (admin), three customers (two teachers) and a draft campaign
    for chosen customers; ids."""
    with app.app_context():
        make_staff(email=CLERK, name="Clara Clerk")
        admin = make_admin(email=BOSS, name="Bo Boss")
        make_book(title="Shelf filler", sold_count=3)
        ids = {name: make_member(name=name).id
               for name in ("Ann Teacher", "Bob Teacher", "Cy Student")}
        ids["campaign"] = _draft(admin).id
        db.session.commit()
    return ids


def _bulk(agent, campaign_id, **fields):
    return agent.post("/admin/customers/bulk", data={
        "action": "campaign", "campaign": str(campaign_id), "query": "", **fields})


@pytest.mark.parametrize("who", [CLERK, BOSS])
def test_the_ticked_customers_are_added_by_staff_and_admins(app, team, who):
    agent = logged_in_client(app, who)
    response = _bulk(agent, team["campaign"], scope="selected",
                     member_ids=[str(team["Ann Teacher"]), str(team["Cy Student"])],
                     query="sort=joined")
    assert response.status_code == 302 and response.location.endswith("?sort=joined")
    page = agent.get(response.location).get_data(as_text=True)
    assert "2 customers added to the campaign “Book club invitation”." in page
    with app.app_context():
        assert _listed(team["campaign"]) == {team["Ann Teacher"], team["Cy Student"]}
        [entry] = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "campaign.list_add")).all()
        assert entry.actor_label == who and entry.after["added"] == 2
        [summary] = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "customer.bulk")).all()
        assert summary.after["action"] == "campaign"


def test_the_whole_filter_adds_exactly_the_filtered_customers_once(app, team):
    agent = logged_in_client(app, CLERK)
    assert _bulk(agent, team["campaign"], scope="filter", query="q=teacher").status_code == 302
    with app.app_context():
        assert _listed(team["campaign"]) == {team["Ann Teacher"], team["Bob Teacher"]}
    again = _bulk(agent, team["campaign"], scope="filter", query="q=teacher")
    page = agent.get(again.location).get_data(as_text=True)
    assert "0 customers added to the campaign “Book club invitation”; the others were on " \
           "its list already" in page
    with app.app_context():
        assert _rows() == 2


def test_a_sent_campaign_is_refused_with_a_clear_message(app, team):
    with app.app_context():
        campaign = db.session.get(Campaign, team["campaign"])
        campaigns.send(campaign, db.session.scalar(sa.select(Member).where(
            Member.email == BOSS)))
        db.session.commit()
    agent = logged_in_client(app, CLERK)
    response = _bulk(agent, team["campaign"], scope="selected",
                     member_ids=[str(team["Ann Teacher"])], query="q=ann")
    assert response.status_code == 303 and response.location.endswith("?q=ann")
    page = agent.get(response.location).get_data(as_text=True)
    assert "The campaign “Book club invitation” has been sent; its audience can no longer " \
           "change." in page
    with app.app_context():
        assert _rows() == 0
        assert not db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action.in_(("campaign.list_add", "customer.bulk")))).all()


def test_no_campaign_chosen_is_refused(app, team):
    agent = logged_in_client(app, CLERK)
    response = _bulk(agent, "", scope="selected", member_ids=[str(team["Ann Teacher"])])
    assert response.status_code == 303
    assert "Choose a draft campaign for chosen customers." in agent.get(
        response.location).get_data(as_text=True)
    with app.app_context():
        assert _rows() == 0


def test_members_cannot_add_to_a_campaign(app, team):
    with app.app_context():
        make_member(email="shopper@example.test")
        db.session.commit()
    shopper = logged_in_client(app, "shopper@example.test")
    response = _bulk(shopper, team["campaign"], scope="selected",
                     member_ids=[str(team["Ann Teacher"])])
    assert response.status_code == 403
    campaign_url = f"/admin/campaigns/{team['campaign']}/list/clear"
    assert shopper.post(campaign_url).status_code == 403
    with app.app_context():
        assert _rows() == 0


def test_the_customer_list_offers_the_draft_list_campaigns_and_starting_one(app, team):
    with app.app_context():
        admin = db.session.scalar(sa.select(Member).where(Member.email == BOSS))
        _draft(admin, kind="tier", name="For regulars")
        sent = _draft(admin, name="Sent already")
        campaigns.send(sent, admin)
        db.session.commit()
    page = logged_in_client(app, CLERK).get("/admin/customers").get_data(as_text=True)
    assert f'<option value="{team["campaign"]}">Book club invitation</option>' in page
    assert "For regulars" not in page and "Sent already" not in page
    assert 'href="/admin/campaigns/new?audience=list"' in page


def test_starting_a_campaign_for_chosen_customers(app, team):
    agent = logged_in_client(app, CLERK)
    form = agent.get("/admin/campaigns/new?audience=list").get_data(as_text=True)
    assert '<option selected value="list">' in form
    response = agent.post("/admin/campaigns/new", data={
        "name": "Teachers", "audience": "list", "subject": "Hi {name}",
        "message": "For teachers", "holdout": "10"})
    assert response.status_code == 302
    page = agent.get(response.location).get_data(as_text=True)
    assert "0 customers on the list." in page
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Teachers"))
        assert (campaign.audience_kind, campaign.audience_value) == ("list", None)


@pytest.mark.parametrize("who", [CLERK, BOSS])
def test_the_campaign_page_shows_the_list_and_takes_people_off(app, team, who):
    with app.app_context():
        admin = db.session.scalar(sa.select(Member).where(Member.email == BOSS))
        campaign = db.session.get(Campaign, team["campaign"])
        campaigns.add_to_list(campaign, admin, [team["Ann Teacher"], team["Bob Teacher"],
                                                team["Cy Student"]])
        db.session.commit()
    agent = logged_in_client(app, who)
    url = f"/admin/campaigns/{team['campaign']}"
    page = agent.get(url).get_data(as_text=True)
    assert "3 customers on the list." in page and "Bob Teacher" in page
    assert "3 members in the audience" in page

    removed = agent.post(f"{url}/list/{team['Bob Teacher']}/remove")
    assert removed.status_code == 302
    page = agent.get(url).get_data(as_text=True)
    assert "Taken off the list." in page and "2 customers on the list." in page
    assert "Bob Teacher" not in page

    cleared = agent.post(f"{url}/list/clear")
    assert cleared.status_code == 302
    page = agent.get(url).get_data(as_text=True)
    assert "The list is cleared: 2 customers taken off." in page
    with app.app_context():
        assert _rows() == 0


def test_a_send_after_the_list_grew_since_the_admins_review_is_refused(app, team):
    """The send is tied to the audience the admin saw: customers added to the list between
    the review and the click make the send stop with a clear message, nothing sent."""
    boss, clerk = logged_in_client(app, BOSS), logged_in_client(app, CLERK)
    url = f"/admin/campaigns/{team['campaign']}"
    _bulk(clerk, team["campaign"], scope="selected", member_ids=[str(team["Ann Teacher"])])
    page = boss.get(url).get_data(as_text=True)
    seen = re.search(r'name="audience" value="(\d+)"', page).group(1)
    assert seen == "1"

    _bulk(clerk, team["campaign"], scope="selected",  # meanwhile: two more
          member_ids=[str(team["Bob Teacher"]), str(team["Cy Student"])])
    refused = boss.post(f"{url}/send", data={"audience": seen})

    assert refused.status_code == 303 and refused.location.endswith(url)
    assert ("The audience has changed since you looked at it (1 then, 3 now). Check who "
            "will get it, then send again." in boss.get(url).get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Campaign, team["campaign"]).is_draft
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CampaignRecipient)) == 0
    page = boss.get(url).get_data(as_text=True)
    seen = re.search(r'name="audience" value="(\d+)"', page).group(1)
    assert boss.post(f"{url}/send", data={"audience": seen}).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CampaignRecipient)) == 3


def test_a_sent_campaigns_list_cannot_be_cleared_from_its_page(app, team):
    with app.app_context():
        admin = db.session.scalar(sa.select(Member).where(Member.email == BOSS))
        campaign = db.session.get(Campaign, team["campaign"])
        campaigns.add_to_list(campaign, admin, [team["Ann Teacher"]])
        campaigns.send(campaign, admin)
        db.session.commit()
    agent = logged_in_client(app, BOSS)
    url = f"/admin/campaigns/{team['campaign']}"
    response = agent.post(f"{url}/list/clear")
    assert response.status_code == 303
    assert "has been sent; its audience can no longer change." in agent.get(
        response.location).get_data(as_text=True)
    with app.app_context():
        assert _rows() == 1


# --------------------------------------------------------------------------- PostgreSQL


def test_chosen_lists_on_postgresql(pg_app):
    with pg_app.app_context():
        make_staff(email=CLERK)
        admin = make_admin(email=BOSS)
        teachers = [make_member(name=f"Teacher {n}").id for n in range(6)]
        other = make_member(name="Cy Student").id
        campaign_id = _draft(admin).id
        db.session.commit()
    agent = logged_in_client(pg_app, CLERK)
    for _ in range(2):  # twice: one row each
        assert _bulk(agent, campaign_id, scope="filter", query="q=teacher").status_code == 302
    assert _bulk(agent, campaign_id, scope="selected",
                 member_ids=[str(teachers[0]), str(other)]).status_code == 302
    with pg_app.app_context():
        assert _listed(campaign_id) == {*teachers, other} and _rows() == 7
        campaign = db.session.get(Campaign, campaign_id)
        admin = db.session.scalar(sa.select(Member).where(Member.email == BOSS))
        campaigns.send(campaign, admin)
        db.session.commit()
        mailed, holdout = campaigns.split([*teachers, other], Decimal("0.25"),
                                          campaign.holdout_seed)
        groups = dict(db.session.execute(sa.select(CampaignRecipient.member_id,
                                                   CampaignRecipient.group)).all())
        assert {m for m, g in groups.items() if g is RecipientGroup.MAILED} == set(mailed)
        assert {m for m, g in groups.items() if g is RecipientGroup.HOLDOUT} == set(holdout)
    refused = _bulk(agent, campaign_id, scope="selected", member_ids=[str(other)])
    assert refused.status_code == 303
