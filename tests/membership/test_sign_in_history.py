"""The sign-in history (issue 21, "visits to the shop as recorded sign-ins"): every real
sign-in (the login form, confirming the address) is kept with its time, way and kind of
browser, outlives logout, shows on the customer's timeline before the sale, is in the GDPR
export, goes with an erasure, moves with a merge, and is forgotten after
SIGN_IN_HISTORY_DAYS."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.crm import erasure, member_export, merging, timeline
from app.membership import cli as membership_cli
from app.membership import sessions
from app.models import Member, MemberSession, MemberSignIn, OutboxMail
from tests.factories import make_admin, make_member
from tests.pages import logged_in_client, post_login

EMAIL = "visits@example.com"
PASSWORD = "correct horse 1"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")


@pytest.fixture
def reader(app) -> int:
    with app.app_context():
        member = make_member(email=EMAIL, password=PASSWORD, name="Vi Visitor")
        db.session.commit()
        return member.id


def _login(client, agent=FIREFOX, **extra):
    return post_login(client, EMAIL, PASSWORD, headers={"User-Agent": agent}, **extra)


def _sign_ins(member_id: int) -> list[tuple[str, str]]:
    return [(s.way, s.browser) for s in db.session.scalars(
        sa.select(MemberSignIn).where(MemberSignIn.member_id == member_id)
        .order_by(MemberSignIn.id))]


def test_a_login_is_kept_and_outlives_the_logout(app, client, reader):
    assert _login(client).status_code == 302
    client.post("/account/logout")
    assert _login(app.test_client(), agent=PHONE).status_code == 302
    assert post_login(app.test_client(), EMAIL, "wrong password").status_code == 400

    with app.app_context():
        assert _sign_ins(reader) == [("password", "Firefox/Linux"), ("password", "Safari/iPhone")]
        assert db.session.scalar(sa.select(sa.func.count(MemberSession.id))) == 1
        [phone, firefox] = timeline.timeline(reader, phase="before").events
        assert (firefox.kind, firefox.phase, firefox.title, firefox.detail) == (
            "sign_in", "before", "Firefox on Linux", "with the password")
        assert phone.title == "Safari on iPhone" and phone.at >= firefox.at


def test_pages_opened_while_signed_in_or_by_a_remember_cookie_are_no_sign_in(
        app, client, reader):
    _login(client, remember="y")
    remembered = app.test_client()
    remembered.set_cookie("remember_token", client.get_cookie("remember_token").value)
    for browser in (client, remembered):
        assert browser.get("/account/").status_code == 200
        assert browser.get("/account/profile").status_code == 200
    with app.app_context():
        assert len(_sign_ins(reader)) == 1


def test_confirming_the_address_is_a_sign_in_on_joining(app):
    browser = app.test_client()
    browser.post("/account/register", data={"email": "new@example.com", "name": "Nia New",
                                            "password": PASSWORD, "confirm": PASSWORD},
                 headers={"User-Agent": FIREFOX})
    with app.app_context():
        mail = db.session.scalar(sa.select(OutboxMail).where(
            OutboxMail.to_email == "new@example.com"))
        url = urlsplit(re.search(r"http://localhost/account/confirm/\S+",
                                 mail.body_text).group(0))
    link = url.path + (f"?{url.query}" if url.query else "")
    assert browser.post(link, data={"password": PASSWORD},
                        headers={"User-Agent": FIREFOX}).status_code == 302
    with app.app_context():
        member_id = db.session.scalar(sa.select(Member.id).where(
            Member.email == "new@example.com"))
        assert _sign_ins(member_id) == [("join", "Firefox/Linux")]
        [event] = timeline.timeline(member_id, kind="sign_in").events
        assert event.detail == "on confirming the address"


def test_the_customer_record_tells_the_sign_ins_before_the_sale(app, client, reader,
                                                                  staff_id):
    _login(client)
    client.post("/account/logout")
    page = logged_in_client(app, "clerk@example.test").get(
        f"/admin/customers/{reader}?phase=before").get_data(as_text=True)
    assert "Signed in" in page and "Firefox on Linux" in page
    assert "with the password" in page


def test_the_browser_is_kept_as_a_kind_not_the_whole_user_agent(app):
    assert sessions.browser_key(FIREFOX) == "Firefox/Linux"
    assert sessions.browser_key("curl/8.0") == ""
    assert sessions.browser_key(None) == ""
    with app.test_request_context():
        assert sessions.describe_key("") == "An unknown browser"
        assert sessions.describe_key("/Android") == "Android"
        assert sessions.describe(PHONE) == "Safari on iPhone"


# --------------------------------------------------------------------------- GDPR


def _history(member: Member, *days_ago: int) -> None:
    now = utcnow()
    db.session.add_all(MemberSignIn(member_id=member.id, way="password", browser="Chrome/",
                                    signed_in_at=now - timedelta(days=d)) for d in days_ago)
    db.session.flush()


def test_the_export_holds_every_sign_in(ctx):
    member = make_member()
    _history(member, 40, 3)
    rows = member_export.member_data(member)["sign_ins"]
    assert [(r["way"], r["browser"]) for r in rows] == [("password", "Chrome/")] * 2
    assert rows[0]["at"] < rows[1]["at"]
    csv_rows = [row for row in member_export.member_data_rows(
        member_export.member_data(member)) if row and row[0] == "sign_ins"]
    assert csv_rows[0] == ["sign_ins", "at", "way", "browser"]
    assert csv_rows[1][2:] == ["password", "Chrome/"] and len(csv_rows) == 3


def test_erasure_leaves_no_sign_in(ctx):
    admin, member, other = make_admin(), make_member(), make_member()
    _history(member, 5, 1)
    _history(other, 2)
    erasure.erase_member(member, admin)
    assert _sign_ins(member.id) == [] and len(_sign_ins(other.id)) == 1


def test_a_merge_moves_the_sign_ins_to_the_record_kept(ctx):
    admin, keep, other = make_admin(), make_member(), make_member()
    _history(keep, 9)
    _history(other, 5, 1)
    moved = merging.merge_members(keep, other, admin)
    assert moved["sign_ins"] == 2
    assert len(_sign_ins(keep.id)) == 3 and _sign_ins(other.id) == []
    assert len(timeline.timeline(keep.id, kind="sign_in").events) == 3


# --------------------------------------------------------------------------- pruning


@pytest.mark.parametrize("app_config", [{"SIGN_IN_HISTORY_DAYS": 30}])
def test_pruning_forgets_only_sign_ins_older_than_the_history(app, runner):
    with app.app_context():
        member = make_member()
        _history(member, 31, 29, 0)
        db.session.commit()
    result = runner.invoke(args=["members", "prune-sign-ins"])
    assert result.exit_code == 0, result.output
    assert "1 sign-in(s) older than 30 days forgotten" in result.output
    with app.app_context():
        kept = db.session.scalars(sa.select(MemberSignIn.signed_in_at)).all()
        assert len(kept) == 2 and min(kept) > utcnow() - timedelta(days=30)
        assert sessions.prune_sign_ins() == 0


@pytest.mark.parametrize("app_config", [{"SIGN_IN_HISTORY_DAYS": 30}])
def test_the_mail_senders_pass_prunes_the_history_too(app, runner, monkeypatch):
    """Without anyone running the command, the history still lasts only its days: the mail
    sender's passes prune it (at most once an hour)."""
    monkeypatch.setitem(membership_cli._last_prune, "at", None)
    with app.app_context():
        member = make_member()
        _history(member, 31, 29)
        db.session.commit()
        member_id = member.id

    result = runner.invoke(args=["mail-worker", "--once"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        [kept] = db.session.scalars(sa.select(MemberSignIn.signed_in_at)).all()
        assert kept > utcnow() - timedelta(days=30)
        _history(db.session.get(Member, member_id), 40)
        db.session.commit()
    runner.invoke(args=["mail-worker", "--once"])  # within the hour: not again
    with app.app_context():
        assert len(_sign_ins(member_id)) == 2


def test_the_history_lasts_a_year_unless_configured(app):
    with app.app_context():
        assert sessions.history_days() == 365


# --------------------------------------------------------------------------- PostgreSQL


def test_the_sign_in_history_on_postgresql(pg_app):
    with pg_app.app_context():
        admin = make_admin()
        member = make_member(email=EMAIL, password=PASSWORD)
        other = make_member()
        _history(member, 400)
        _history(other, 2)
        db.session.commit()
        member_id, other_id, admin_id = member.id, other.id, admin.id
    browser = pg_app.test_client()
    assert _login(browser).status_code == 302
    browser.post("/account/logout")
    with pg_app.app_context():
        assert sessions.prune_sign_ins() == 1
        db.session.commit()
        assert _sign_ins(member_id) == [("password", "Firefox/Linux")]
        [event] = timeline.timeline(member_id, phase="before").events
        assert (event.kind, event.title) == ("sign_in", "Firefox on Linux")
        assert len(member_export.member_data(db.session.get(Member, member_id))["sign_ins"]) == 1
        merging.merge_members(db.session.get(Member, member_id),
                              db.session.get(Member, other_id), db.session.get(Member, admin_id))
        db.session.commit()
        assert len(_sign_ins(member_id)) == 2
        erasure.erase_member(db.session.get(Member, member_id), db.session.get(Member, admin_id))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(MemberSignIn.id))) == 0
