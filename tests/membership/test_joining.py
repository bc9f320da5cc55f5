"""Joining proves the address and tells nobody who is a member (issue 17, items 4 and 5).

Registration answers every address with the same page; a new address gets a link that confirms
it and logs the new member in, an address with an account gets a mail saying someone tried to
join with it. Visitor demand joins an account only once its address is confirmed. Forgotten
password requests queue one mail whatever the address."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from app.core.db import utcnow
from app.core.extensions import db
from app.demand import visitors
from app.membership import members
from app.models import Demand, DemandStatus, JoinRequest, Member, OutboxMail
from tests.factories import make_book, make_member
from tests.pages import post_login

PASSWORD = "correct horse 1"
OTHER_PASSWORD = "battery staple 2"


@pytest.fixture
def member_id(app) -> int:
    with app.app_context():
        member = make_member(email="taken@example.com", password=PASSWORD, name="Ada Taken")
        db.session.commit()
        return member.id


def _join(client, email="new@example.com", password=PASSWORD, name="New Reader", **extra):
    return client.post("/account/register", data={
        "email": email, "name": name, "password": password, "confirm": password, **extra})


def _mails(app, to=None) -> list[OutboxMail]:
    with app.app_context():
        stmt = sa.select(OutboxMail).order_by(OutboxMail.id)
        if to:
            stmt = stmt.where(OutboxMail.to_email == to)
        return list(db.session.scalars(stmt))


def _link(mail: OutboxMail, path: str) -> str:
    """The link to `path` in a mail, as a path the test client can open."""
    url = re.search(rf"http://localhost{path}\S+", mail.body_text).group(0)
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _visible(response, email) -> tuple:
    text = unescape(response.get_data(as_text=True)).replace(email, "<address>")
    return response.status_code, response.headers.get("Location"), text


def _member(app, email) -> Member | None:
    with app.app_context():
        return db.session.scalar(sa.select(Member).where(Member.email == email))


# --------------------------------------------------------------------------- one answer for all


def test_joining_answers_the_same_for_a_new_address_and_a_members_address(app, member_id):
    new = _join(app.test_client(), email="new@example.com")
    taken = _join(app.test_client(), email="taken@example.com")

    assert new.status_code == 200
    assert _visible(new, "new@example.com") == _visible(taken, "taken@example.com")
    page = unescape(new.get_data(as_text=True))
    assert "Check your inbox" in page and "already exists" not in page


def test_joining_with_a_members_address_in_another_case_gives_the_same_page_too(app, member_id):
    new = _join(app.test_client(), email="new@example.com")
    taken = _join(app.test_client(), email="TAKEN@Example.com")

    assert _visible(new, "new@example.com") == _visible(taken, "TAKEN@Example.com")


def test_a_members_address_gets_a_mail_that_someone_tried_to_join_and_nothing_changes(
        app, member_id):
    before = _member(app, "taken@example.com")

    _join(app.test_client(), email="taken@example.com", password=OTHER_PASSWORD, name="Mallory")

    [mail] = _mails(app, "taken@example.com")
    assert mail.kind == "join_attempt" and mail.member_id == member_id
    assert "http://localhost/account/login" in mail.body_text
    assert "http://localhost/account/forgot" in mail.body_text
    after = _member(app, "taken@example.com")
    assert (after.name, after.password_hash) == (before.name, before.password_hash)
    client = app.test_client()
    assert post_login(client, "taken@example.com", PASSWORD).status_code == 302


def test_both_branches_hash_the_password_write_one_request_and_queue_one_mail(
        app, member_id, monkeypatch):
    hashed = []
    real = members.hash_password
    monkeypatch.setattr(members, "hash_password",
                        lambda password: hashed.append(password) or real(password))

    _join(app.test_client(), email="new@example.com")
    _join(app.test_client(), email="taken@example.com")

    assert hashed == [PASSWORD, PASSWORD]
    assert [m.kind for m in _mails(app)] == ["confirm_email", "join_attempt"]
    with app.app_context():
        assert db.session.execute(sa.select(JoinRequest.email, JoinRequest.member_id)
                                  .order_by(JoinRequest.id)).all() == [
            ("new@example.com", None), ("taken@example.com", member_id)]


def test_joining_builds_no_member_object_for_a_members_address(app, member_id):
    """Timing (issue 17, item 5): a whole Member (40-odd columns) built only on the members'
    branch was time only that branch spent; both look up a few columns."""
    loaded = []

    def record(target, context):
        loaded.append(target.id)

    sa.event.listen(Member, "load", record)
    try:
        _join(app.test_client(), email="taken@example.com")
    finally:
        sa.event.remove(Member, "load", record)

    assert loaded == []
    assert [m.kind for m in _mails(app)] == ["join_attempt"]


# --------------------------------------------------------------------------- confirming


def test_a_new_address_gets_no_account_until_its_link_is_followed(app, client):
    _join(client, email="new@example.com")

    assert _member(app, "new@example.com") is None
    assert client.get("/account/").status_code == 302  # not logged in
    [mail] = _mails(app, "new@example.com")
    assert mail.kind == "confirm_email" and "/account/confirm/" in mail.body_text
    refused = post_login(client, "new@example.com", PASSWORD)
    assert refused.status_code == 400


def test_the_confirmation_link_confirms_logs_in_and_welcomes_with_the_member_number(app):
    browser = app.test_client()
    _join(browser, email="new@example.com", name="Nia New")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")

    page = browser.get(link)  # a page with a button: opening the link changes nothing
    assert page.status_code == 200 and _member(app, "new@example.com") is None
    response = browser.post(link, data={"password": PASSWORD}, follow_redirects=True)

    member = _member(app, "new@example.com")
    assert member.email_verified_at is not None
    text = unescape(response.get_data(as_text=True))
    assert f"Welcome to Bookstation, Nia New! Your member number is {member.member_no}." in text
    assert browser.get("/account/").status_code == 200


def test_the_confirmation_link_keeps_where_the_visitor_was_going(app):
    browser = app.test_client()
    _join(browser, email="new@example.com", next="/cart")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")

    response = browser.post(link, data={"password": PASSWORD})

    assert response.headers["Location"] == "/cart"


def test_a_used_confirmation_link_logs_nobody_in_again(app):
    _join(app.test_client(), email="new@example.com")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")
    app.test_client().post(link, data={"password": PASSWORD})

    later = app.test_client()
    response = later.post(link, data={"password": PASSWORD})

    assert response.status_code == 400
    assert later.get("/account/").status_code == 302


def test_joining_twice_before_confirming_the_followed_link_decides_and_the_other_dies(app):
    _join(app.test_client(), email="new@example.com", password=PASSWORD, name="First Try")
    _join(app.test_client(), email="new@example.com", password=OTHER_PASSWORD,
          name="Second Try")
    first_link, second_link = (_link(m, "/account/confirm/")
                               for m in _mails(app, "new@example.com"))

    assert app.test_client().post(second_link,
                                  data={"password": OTHER_PASSWORD}).status_code == 302

    assert app.test_client().post(first_link, data={"password": PASSWORD}).status_code == 400
    assert _member(app, "new@example.com").name == "Second Try"
    login = post_login(app.test_client(), "new@example.com", OTHER_PASSWORD)
    assert login.status_code == 302


def test_the_confirmation_page_asks_for_the_password_chosen_when_joining_not_the_name(app):
    _join(app.test_client(), email="new@example.com", name="Nia <b>New</b>")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")

    page = unescape(app.test_client().get(link).get_data(as_text=True))

    assert 'type="password"' in page and 'autocomplete="current-password"' in page
    assert "new@example.com" in page
    assert "Nia" not in page


def test_someone_who_joined_with_another_persons_address_cannot_have_them_confirm_it(app):
    """Pre-join takeover (issue 17 review): Mallory joins with the victim's address and a
    password of her own; the victim follows the mailed link but does not know that password,
    so no account is opened with it and the victim is not logged into Mallory's account."""
    _join(app.test_client(), email="victim@example.com", password=OTHER_PASSWORD,
          name="Mallory")
    link = _link(_mails(app, "victim@example.com")[0], "/account/confirm/")
    victim = app.test_client()

    for typed in ("", PASSWORD):
        response = victim.post(link, data={"password": typed})

        assert response.status_code == 400
        assert _member(app, "victim@example.com") is None
        assert victim.get("/account/").status_code == 302
    assert "That is not the password chosen when joining" in unescape(
        response.get_data(as_text=True))


def test_the_right_password_still_confirms_after_a_wrong_one(app):
    browser = app.test_client()
    _join(browser, email="new@example.com")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")

    assert browser.post(link, data={"password": OTHER_PASSWORD}).status_code == 400
    assert browser.post(link, data={"password": PASSWORD}).status_code == 302
    assert browser.get("/account/").status_code == 200


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "LOGIN_RATE_LIMIT": "3 per minute"}])
def test_guessing_the_password_on_the_confirmation_page_is_rate_limited_like_login(app):
    _join(app.test_client(), email="new@example.com")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")
    guesser = app.test_client()

    statuses = [guesser.post(link, data={"password": f"guess number {n}"}).status_code
                for n in range(4)]

    assert statuses == [400, 400, 400, 429]
    assert guesser.post(link, data={"password": PASSWORD}).status_code == 429
    assert _member(app, "new@example.com") is None


def test_a_link_for_an_address_that_got_an_account_meanwhile_logs_nobody_in(app):
    browser = app.test_client()
    _join(browser, email="new@example.com")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")
    with app.app_context():
        make_member(email="New@example.com")
        db.session.commit()

    response = browser.post(link, data={"password": PASSWORD})

    assert response.status_code == 303 and "/account/login" in response.headers["Location"]
    assert browser.get("/account/").status_code == 302


@pytest.mark.parametrize("token", ["nonsense", "a" * 2000])
def test_a_bad_confirmation_link_shows_a_page_to_join_again(client, token):
    response = client.get(f"/account/confirm/{token}")

    assert response.status_code == 400
    assert "/account/register" in response.get_data(as_text=True)


def test_an_expired_confirmation_link_is_refused(app, client):
    _join(client, email="new@example.com")
    link = _link(_mails(app, "new@example.com")[0], "/account/confirm/")
    assert client.get(link).status_code == 200
    app.config["EMAIL_CONFIRM_MAX_AGE"] = -1

    assert client.get(link).status_code == 400
    assert client.post(link, data={"password": PASSWORD}).status_code == 400
    assert _member(app, "new@example.com") is None


def test_a_forged_confirmation_link_is_refused(app, client):
    _join(client, email="new@example.com")
    with app.app_context():
        request_id = db.session.scalar(sa.select(JoinRequest.id))
    forged = URLSafeTimedSerializer("not our secret", salt=members.CONFIRM_SALT).dumps(
        {"j": request_id, "f": "0" * 24})

    assert client.post(f"/account/confirm/{forged}",
                       data={"password": PASSWORD}).status_code == 400


# --------------------------------------------------------------------------- no mail relay


def test_the_confirmation_mail_greets_neutrally_without_the_typed_name(app):
    _join(app.test_client(), email="new@example.com", name="Win a prize at evil.example now")

    [mail] = _mails(app, "new@example.com")
    assert "evil.example" not in mail.body_text + (mail.body_html or "") + mail.subject
    assert mail.body_text.startswith("Hello,")


@pytest.mark.parametrize("address", ["new@example.com", "taken@example.com"])
def test_one_address_gets_at_most_three_join_or_reset_mails_an_hour(app, member_id, address):
    """Joining and forgot-password mail whatever address is typed: capped per address, member
    or not, with the same answer once the cap is reached (nothing tells them apart)."""
    first = [_join(app.test_client(), email=address) for _ in range(2)]
    first += [app.test_client().post("/account/forgot", data={"email": address})]
    later_join = _join(app.test_client(), email=address.upper())
    later_reset = app.test_client().post("/account/forgot", data={"email": address})

    assert len(_mails(app, address)) == 3
    assert _visible(later_join, address.upper()) == _visible(first[0], address)
    assert (later_reset.status_code, later_reset.headers["Location"]) == (
        first[2].status_code, first[2].headers["Location"])


def test_the_mail_cap_for_an_address_frees_up_after_an_hour(app):
    for _ in range(3):
        _join(app.test_client(), email="new@example.com")
    with app.app_context():
        db.session.execute(sa.update(OutboxMail).values(
            created_at=utcnow() - timedelta(minutes=61)))
        db.session.commit()

    _join(app.test_client(), email="new@example.com")

    assert len(_mails(app, "new@example.com")) == 4


# --------------------------------------------------------------------------- visitor demand


def _visitor_demand(app, email) -> int:
    with app.app_context():
        demand = visitors.record_visitor_demand(email, make_book(stock_on_hand=0), 2)
        demand.confirmed_at = utcnow() - timedelta(days=1)
        demand.confirm_token_hash = None
        demand.note = "for my daughter's birthday"
        db.session.commit()
        return demand.id


def test_an_unconfirmed_registration_does_not_take_a_visitors_demands(app):
    demand_id = _visitor_demand(app, "victim@example.com")

    _join(app.test_client(), email="victim@example.com")

    with app.app_context():
        assert db.session.get(Demand, demand_id).member_id is None


def test_confirming_the_address_brings_the_visitors_demands_into_the_account(app):
    demand_id = _visitor_demand(app, "victim@example.com")
    browser = app.test_client()
    _join(browser, email="Victim@example.com")

    [confirm] = [m for m in _mails(app, "victim@example.com") if m.kind == "confirm_email"]
    browser.post(_link(confirm, "/account/confirm/"), data={"password": PASSWORD})

    member = _member(app, "victim@example.com")
    with app.app_context():
        demand = db.session.get(Demand, demand_id)
        assert demand.member_id == member.id and demand.status == DemandStatus.OPEN


def test_a_member_who_never_proved_the_address_does_not_take_visitor_demand(app):
    demand_id = _visitor_demand(app, "victim@example.com")
    with app.app_context():
        member = make_member(email="victim@example.com", email_verified_at=None)

        assert visitors.attach_visitor_demands(member) == 0
        assert db.session.get(Demand, demand_id).member_id is None


# --------------------------------------------------------------------------- forgotten password


def test_forgot_password_queues_one_mail_for_members_and_strangers_alike(app, member_id):
    member_answer = app.test_client().post("/account/forgot",
                                           data={"email": "taken@example.com"})
    stranger_answer = app.test_client().post("/account/forgot",
                                             data={"email": "nobody@example.com"})

    assert (member_answer.status_code, member_answer.headers["Location"]) == (
        stranger_answer.status_code, stranger_answer.headers["Location"])
    [reset] = _mails(app, "taken@example.com")
    [notice] = _mails(app, "nobody@example.com")
    assert reset.kind == "password_reset" and "/account/reset/" in reset.body_text
    assert notice.kind == "password_reset_unknown" and notice.member_id is None
    assert "/account/register" in notice.body_text and "/account/reset/" not in notice.body_text
