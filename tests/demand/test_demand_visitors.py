"""Visitors leave demand with just an email: double opt-in, limits, purge, joined on register."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.demand import tokens, visitors
from app.demand.rules import PendingConfirmation, TooManyRequests
from app.demand.stock import receive_stock
from app.mail.sender import deliver_due
from app.membership import members
from app.models import Demand, DemandStatus, Member, OutboxMail
from tests.factories import make_book
from tests.pages import csrf_token


def _book(app, **values) -> int:
    with app.app_context():
        book = make_book(stock_on_hand=0, **values)
        db.session.commit()
        return book.id


def _mails(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(m.kind, m.to_email) for m in
                db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id))]


def _confirm_link(app) -> str:
    with app.app_context():
        body = db.session.scalar(sa.select(OutboxMail.body_text)
                                 .where(OutboxMail.kind == "demand_confirm")
                                 .order_by(OutboxMail.id.desc()))
    return re.search(r"http://localhost(/demand/confirm/\S+)", body).group(1)


def test_a_visitor_sees_an_email_field_on_the_book_page(app, client):
    book_id = _book(app)

    page = client.get(f"/book/{book_id}").get_data(as_text=True)

    assert 'name="email"' in page and "Tell me when it is in stock" in page


def test_a_visitor_gets_only_a_confirmation_until_they_confirm(app, client, smtp_inbox):
    book_id = _book(app, title="Dune")

    response = client.post(f"/demand/book/{book_id}",
                           data={"email": "Visitor@Example.test", "quantity": "1"})

    assert response.status_code == 302
    assert _mails(app) == [("demand_confirm", "visitor@example.test")]
    with app.app_context():
        receive_stock(book_id, 2)  # copies arrive before the visitor confirmed
        db.session.commit()
        deliver_due()
    assert _mails(app) == [("demand_confirm", "visitor@example.test")]
    [message] = smtp_inbox.parsed()
    assert "confirm" in message["Subject"].lower() and "Dune" in message["Subject"]


def test_confirming_by_the_link_makes_the_demand_count(app, client):
    book_id = _book(app)
    client.post(f"/demand/book/{book_id}", data={"email": "v@example.test", "quantity": "2"})
    link = _confirm_link(app)

    page = client.get(link)
    assert page.status_code == 200 and "Yes, tell me" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.confirmed_at)) is None  # GET changes nothing

    assert client.post(link).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.confirmed_at)) is not None
        receive_stock(book_id, 2)
        db.session.commit()
    assert _mails(app)[-1] == ("stock_arrived", "v@example.test")
    assert client.get(link).status_code == 404  # used once


def test_an_unknown_confirmation_link_is_refused_clearly(client):
    response = client.get("/demand/confirm/made-up-token")

    assert response.status_code == 404
    assert "not valid or has expired" in response.get_data(as_text=True)


def test_at_most_one_confirmation_waits_per_address(app, client):
    first, second = _book(app), _book(app)
    client.post(f"/demand/book/{first}", data={"email": "v@example.test", "quantity": "1"})

    response = client.post(f"/demand/book/{second}",
                           data={"email": "v@example.test", "quantity": "1"})

    assert response.status_code == 400
    assert "already sent a confirmation link" in response.get_data(as_text=True)
    assert len(_mails(app)) == 1


@pytest.mark.parametrize("app_config", [{"DEMAND_ADDRESS_DAILY_LIMIT": 2}])
def test_an_address_is_limited_per_day(ctx, app_config):
    address = "busy@example.test"
    for _ in range(2):
        demand = visitors.record_visitor_demand(address, make_book(stock_on_hand=0))
        demand.confirmed_at = utcnow()
        demand.confirm_token_hash = None
    db.session.flush()

    with pytest.raises(TooManyRequests):
        visitors.record_visitor_demand(address, make_book(stock_on_hand=0))


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "DEMAND_VISITOR_RATE_LIMIT": "2 per minute"}])
def test_a_client_is_rate_limited(app, client, app_config):
    book_id = _book(app)
    codes = [client.post(f"/demand/book/{book_id}",
                         data={"email": f"v{n}@example.test", "quantity": "1"}).status_code
             for n in range(3)]

    assert codes == [302, 302, 429]


def test_a_bad_address_is_refused_beside_the_field(app, client):
    book_id = _book(app)

    response = client.post(f"/demand/book/{book_id}", data={"email": "nope", "quantity": "1"})

    assert response.status_code == 400
    assert "valid email address" in response.get_data(as_text=True)
    assert _mails(app) == []


def test_unconfirmed_entries_are_purged_after_the_set_time(app, runner):
    with app.app_context():
        old = visitors.record_visitor_demand("old@example.test", make_book(stock_on_hand=0))
        old.created_at = utcnow() - timedelta(hours=49)
        visitors.record_visitor_demand("new@example.test", make_book(stock_on_hand=0))
        db.session.commit()

    result = runner.invoke(args=["demand", "purge-unconfirmed"])

    assert result.exit_code == 0 and "1 unconfirmed" in result.output
    with app.app_context():
        assert db.session.scalars(sa.select(Demand.email)).all() == ["new@example.test"]


def test_a_confirmed_visitor_demand_joins_the_account_once_its_address_is_confirmed(ctx):
    book = make_book(stock_on_hand=0)
    demand = visitors.record_visitor_demand("joiner@example.test", book, 2)
    demand.confirmed_at = utcnow()
    demand.confirm_token_hash = None
    db.session.commit()

    join_request = members.register("Joiner@example.test", "a long password 1", "Jo")
    db.session.commit()
    db.session.refresh(demand)
    assert demand.member_id is None  # issue 17: not before the address is proven
    member = members.confirm_join(members.make_join_token(join_request), "a long password 1")
    db.session.commit()

    db.session.refresh(demand)
    assert demand.member_id == member.id and demand.open_key == f"{member.id}:{book.id}"
    assert demand.status == DemandStatus.OPEN


def test_an_unconfirmed_visitor_demand_does_not_join_an_account(ctx):
    demand = visitors.record_visitor_demand("lurker@example.test",
                                            make_book(stock_on_hand=0))
    db.session.commit()

    members.register("lurker@example.test", "a long password 1", "Lu")

    assert demand.member_id is None


def test_a_visitor_unsubscribe_cancels_their_demand(app, client):
    with app.app_context():
        demand = visitors.record_visitor_demand("v@example.test",
                                                make_book(stock_on_hand=0))
        demand.confirmed_at = utcnow()
        db.session.commit()
        token = tokens.token_for_email("v@example.test")

    assert client.post(f"/demand/unsubscribe/{token}").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.status)) == DemandStatus.CANCELLED
        assert db.session.scalar(sa.select(Member)) is None


def test_the_service_refuses_a_second_pending_confirmation(ctx):
    visitors.record_visitor_demand("v@example.test", make_book(stock_on_hand=0))
    with pytest.raises(PendingConfirmation):
        visitors.record_visitor_demand("V@example.test", make_book(stock_on_hand=0))


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_the_visitor_form_and_the_confirm_button_need_their_token(self, app, client):
        book_id = _book(app)
        refused = client.post(f"/demand/book/{book_id}",
                              data={"email": "v@example.test", "quantity": "1"})
        assert refused.status_code == 400 and _mails(app) == []

        token = csrf_token(client, f"/book/{book_id}")
        client.post(f"/demand/book/{book_id}",
                    data={"email": "v@example.test", "quantity": "1", "csrf_token": token})
        link = _confirm_link(app)

        assert client.post(link).status_code == 400
        with app.app_context():
            assert db.session.scalar(sa.select(Demand.confirmed_at)) is None
