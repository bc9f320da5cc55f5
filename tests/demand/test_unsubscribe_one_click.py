"""The unsubscribe link is CSRF-exempt only for what RFC 8058 describes: a mail client's
one-click POST, whose body is `List-Unsubscribe=One-Click`. The person's own confirmation form
carries a CSRF token. Any other POST (another site's form, an empty body) is refused with 400
and changes nothing: no opt-out, no demand cancelled, no held copy passed on."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.demand import tokens
from app.demand.stock import receive_stock
from app.models import Demand, DemandStatus, Hold, HoldStatus, Member
from tests.factories import make_book, make_demand, make_member
from tests.pages import csrf_token
from tests.serving.test_page_cache import CSRF_ON

pytestmark = CSRF_ON
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def held(app) -> dict:
    """A confirmed visitor holds the one copy that arrived; a member waits behind them."""
    with app.app_context():
        book = make_book(stock_on_hand=0)
        visitor = make_demand(None, book, email="v@example.test", quantity=1,
                              created_at=utcnow() - timedelta(days=2))
        visitor.confirmed_at = utcnow() - timedelta(days=2)
        member = make_demand(make_member(email="next@example.test"), book, quantity=1,
                             created_at=utcnow() - timedelta(days=1))
        db.session.commit()
        receive_stock(book.id, 1)
        db.session.commit()
        return {"link": f"/demand/unsubscribe/{tokens.token_for_email('v@example.test')}",
                "visitor": visitor.id, "member": member.id}


def _statuses(app, held) -> tuple[DemandStatus, DemandStatus]:
    with app.app_context():
        return (db.session.get(Demand, held["visitor"]).status,
                db.session.get(Demand, held["member"]).status)


def _holder(app) -> int | None:
    with app.app_context():
        return db.session.scalar(sa.select(Hold.demand_id).where(
            Hold.status == HoldStatus.ACTIVE))


@pytest.mark.parametrize("body", [{}, {"List-Unsubscribe": "Yes"}, {"anything": "at all"}],
                         ids=["empty", "wrong-value", "another-sites-form"])
def test_a_post_without_the_one_click_body_or_a_token_is_refused_and_changes_nothing(
        app, client, held, body):
    before = (_statuses(app, held), _holder(app))
    assert before == ((DemandStatus.NOTIFIED, DemandStatus.OPEN), held["visitor"])

    response = client.post(held["link"], data=body)

    assert response.status_code == 400
    assert (_statuses(app, held), _holder(app)) == before


def test_the_one_click_body_opts_out_without_login_and_passes_the_held_copy_on(
        app, client, held):
    response = client.post(held["link"], data=ONE_CLICK)

    assert response.status_code == 200
    assert _statuses(app, held) == (DemandStatus.CANCELLED, DemandStatus.NOTIFIED)
    assert _holder(app) == held["member"]


def test_the_confirmation_form_carries_a_token_and_works_with_it(app, client, held):
    token = csrf_token(client, held["link"])

    response = client.post(held["link"], data={"csrf_token": token})

    assert response.status_code == 200 and "You are unsubscribed" in response.get_data(
        as_text=True)
    assert _statuses(app, held) == (DemandStatus.CANCELLED, DemandStatus.NOTIFIED)


def test_the_confirmation_form_with_another_sessions_token_is_refused(app, client, held):
    stolen = csrf_token(app.test_client(), held["link"])

    assert client.post(held["link"], data={"csrf_token": stolen}).status_code == 400
    assert _statuses(app, held) == (DemandStatus.NOTIFIED, DemandStatus.OPEN)


def test_a_members_stock_alert_link_needs_the_body_or_the_token_too(app, client):
    with app.app_context():
        leaver = make_member(email="leaver@example.test")
        db.session.commit()
        link = f"/demand/unsubscribe/{tokens.token_for_member(leaver.id)}"

    assert client.post(link).status_code == 400
    with app.app_context():
        assert db.session.get(Member, leaver.id).stock_alerts_opt_in is True

    assert client.post(link, data=ONE_CLICK).status_code == 200
    with app.app_context():
        assert db.session.get(Member, leaver.id).stock_alerts_opt_in is False


def test_the_confirm_page_shows_only_the_address_and_sends_no_referrer(app, client, held):
    page = client.get(held["link"])

    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "v@example.test" in text
    assert "next@example.test" not in text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "private" in page.headers["Cache-Control"]
    assert _statuses(app, held) == (DemandStatus.NOTIFIED, DemandStatus.OPEN)
