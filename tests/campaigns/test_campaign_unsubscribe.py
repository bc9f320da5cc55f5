"""Campaign mails carry a signed one-click opt-out (RFC 8058): `List-Unsubscribe` with the link
and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, the same link in the body; a POST to
it stops news and offers without a login or a CSRF token, a GET only asks to confirm."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.campaigns import services as campaigns
from app.core.extensions import db
from app.demand.tokens import token_for_member
from app.mail.sender import deliver_due
from app.models import CampaignRecipient, Member, RecipientGroup
from tests.factories import make_admin, make_member

LINK = re.compile(r"<(http://localhost/demand/unsubscribe/[\w.\-]+)>")


def _campaign(admin, name: str = "Spring"):
    return campaigns.create(admin, name=name, subject="Hello {name}",
                            message="Dear {name},\n\nNew books!", audience_kind="all",
                            audience_value=None, holdout_rate=Decimal("0"))


@pytest.fixture
def mailed(app, smtp_inbox) -> dict:
    """Ada received a campaign mail over real SMTP."""
    with app.app_context():
        admin = make_admin()
        ada = make_member(name="Ada Lovelace", email="ada@example.test")
        campaign = _campaign(admin)
        db.session.commit()
        campaigns.send(campaign, admin)
        db.session.commit()
        campaigns.enqueue_pending()
        db.session.commit()
        deliver_due()
        message = next(m for m in smtp_inbox.parsed() if m["To"] == "ada@example.test")
        return {"message": message, "ada": ada.id, "admin": admin.id}


def test_the_campaign_mail_arrives_with_one_click_unsubscribe_headers_and_body_link(mailed):
    message = mailed["message"]

    match = LINK.fullmatch(message["List-Unsubscribe"])
    assert match, message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = match.group(1)
    assert link in message.get_body(("plain",)).get_content()
    assert f'href="{link}"' in message.get_body(("html",)).get_content()


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_one_click_post_opts_the_member_out_of_campaigns_without_login_or_csrf(
        app, client, mailed):
    link = LINK.fullmatch(mailed["message"]["List-Unsubscribe"]).group(1)

    # What a mail client sends (RFC 8058 §3.2): no cookie, no CSRF token.
    response = client.post(link, data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "no more news or offers to ada@example.test" in response.get_data(as_text=True)
    with app.app_context():
        ada = db.session.get(Member, mailed["ada"])
        assert ada.mail_opt_in is False
        assert ada.stock_alerts_opt_in is True  # only what this mail was about
        admin = db.session.get(Member, mailed["admin"])
        later = _campaign(admin, name="Summer")
        db.session.commit()
        campaigns.send(later, admin)
        db.session.commit()
        group = db.session.get(CampaignRecipient, (later.id, ada.id)).group
        assert group is RecipientGroup.OPTED_OUT


def test_opening_the_link_only_asks_to_confirm(app, client, mailed):
    link = LINK.fullmatch(mailed["message"]["List-Unsubscribe"]).group(1)

    page = client.get(link)

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Stop news and offers by email for ada@example.test?" in text
    assert f'action="{link.removeprefix("http://localhost")}"' in text
    with app.app_context():
        assert db.session.get(Member, mailed["ada"]).mail_opt_in is True


def test_a_forged_or_stock_alert_token_does_not_stop_news(app, client, mailed):
    link = LINK.fullmatch(mailed["message"]["List-Unsubscribe"]).group(1)

    assert client.post(link[:-2] + "xx").status_code == 400
    with app.app_context():
        stock_token = token_for_member(mailed["ada"])
    client.post(f"/demand/unsubscribe/{stock_token}")

    with app.app_context():
        ada = db.session.get(Member, mailed["ada"])
        assert (ada.mail_opt_in, ada.stock_alerts_opt_in) == (True, False)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_post_without_the_one_click_body_does_not_stop_news(app, client, mailed):
    link = LINK.fullmatch(mailed["message"]["List-Unsubscribe"]).group(1)

    assert client.post(link).status_code == 400
    assert client.post(link, data={"unsubscribe": "1"}).status_code == 400

    with app.app_context():
        assert db.session.get(Member, mailed["ada"]).mail_opt_in is True
