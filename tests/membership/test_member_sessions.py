"""Signed-in sessions live on the server (issue 17, item 2): logging out ends them for every copy
of the cookies, a member sees where they are signed in and can end the other sessions, and the
login loader still reads member and session in one query."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.models import Member, MemberSession
from tests.factories import make_book, make_member, make_staff
from tests.helpers import counting_statements
from tests.pages import post_login

EMAIL = "sessions@example.com"
PASSWORD = "correct horse 1"
NEW_PASSWORD = "battery staple 2"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")


@pytest.fixture
def reader(app) -> int:
    with app.app_context():
        member = make_member(email=EMAIL, password=PASSWORD, name="Ses Reader")
        db.session.commit()
        return member.id


def _login(client, email=EMAIL, password=PASSWORD, agent=FIREFOX, **extra):
    return post_login(client, email, password, headers={"User-Agent": agent}, **extra)


def _copy(client, app, *names):
    """A second browser holding copies of `client`'s cookies (a stolen cookie jar)."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def _sessions(app, member_id) -> list[MemberSession]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(MemberSession).where(MemberSession.member_id == member_id)))


# --------------------------------------------------------------------------- logout


def test_a_session_cookie_copied_before_logout_no_longer_opens_the_account(app, client, reader):
    _login(client)
    thief = _copy(client, app, "session")
    assert thief.get("/account/").status_code == 200

    client.post("/account/logout")

    assert thief.get("/account/").status_code == 302
    assert client.get("/account/").status_code == 302


def test_a_remember_cookie_copied_before_logout_no_longer_logs_in(app, client, reader):
    _login(client, remember="y")
    thief = _copy(client, app, "remember_token")
    assert _copy(client, app, "remember_token").get("/account/").status_code == 200

    client.post("/account/logout")

    assert thief.get("/account/").status_code == 302


def test_logging_out_removes_the_session_record(app, client, reader):
    _login(client)
    assert len(_sessions(app, reader)) == 1

    client.post("/account/logout")

    assert _sessions(app, reader) == []


def test_a_staff_session_copied_before_logout_no_longer_opens_the_admin(app, client):
    with app.app_context():
        make_staff(email="clerk@example.com", password=PASSWORD)
        db.session.commit()
    _login(client, email="clerk@example.com", remember="y")
    thief = _copy(client, app, "session", "remember_token")
    assert thief.get("/admin/").status_code == 200

    client.post("/account/logout")

    assert thief.get("/admin/").status_code == 302


# --------------------------------------------------------------------------- the sessions page


def test_the_sessions_page_lists_each_signed_in_browser_and_marks_this_one(app, reader):
    laptop, phone = app.test_client(), app.test_client()
    _login(laptop, agent=FIREFOX)
    _login(phone, agent=PHONE)

    page = unescape(laptop.get("/account/sessions").get_data(as_text=True))

    assert "Firefox on Linux" in page and "Safari on iPhone" in page
    assert page.count("This device") == 1
    assert page.index("This device") > page.index("Firefox on Linux")


def test_the_overview_links_to_the_sessions_page(client, reader):
    _login(client)

    assert "/account/sessions" in client.get("/account/").get_data(as_text=True)


def test_ending_the_other_sessions_logs_them_out_but_keeps_this_one(app, reader):
    here, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    _login(here)
    _login(phone, agent=PHONE, remember="y")
    _login(tablet)
    stolen_remember = _copy(phone, app, "remember_token")

    response = here.post("/account/sessions/end-others")

    assert response.status_code == 302
    assert here.get("/account/").status_code == 200
    assert phone.get("/account/").status_code == 302
    assert tablet.get("/account/").status_code == 302
    assert stolen_remember.get("/account/").status_code == 302
    assert len(_sessions(app, reader)) == 1


def test_ending_one_other_session_leaves_the_rest(app, reader):
    here, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    _login(here)
    _login(phone, agent=PHONE)
    _login(tablet)
    [phone_session] = [s for s in _sessions(app, reader) if "iPhone" in s.user_agent]

    response = here.post(f"/account/sessions/{phone_session.id}/end")

    assert response.status_code == 302
    assert phone.get("/account/").status_code == 302
    assert here.get("/account/").status_code == 200
    assert tablet.get("/account/").status_code == 200


def test_a_member_cannot_end_someone_elses_session(app, reader):
    with app.app_context():
        make_member(email="other@example.com", password=PASSWORD)
        db.session.commit()
    mine, theirs = app.test_client(), app.test_client()
    _login(mine)
    _login(theirs, email="other@example.com")
    [their_session] = [s for s in _sessions_of(app, "other@example.com")]

    response = mine.post(f"/account/sessions/{their_session.id}/end")

    assert response.status_code == 404
    assert theirs.get("/account/").status_code == 200


@pytest.mark.parametrize("session_id", ["99999999999999999999", "2147483648"])
def test_ending_a_session_with_an_id_too_large_for_the_database_is_not_found(
        client, reader, session_id):
    _login(client)

    response = client.post(f"/account/sessions/{session_id}/end")

    assert response.status_code == 404
    assert client.get("/account/").status_code == 200


def _sessions_of(app, email) -> list[MemberSession]:
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.email == email))
        return _sessions(app, member.id)


def test_the_session_pages_need_a_login(client):
    assert client.get("/account/sessions").status_code == 302
    assert client.post("/account/sessions/end-others").status_code == 302


# --------------------------------------------------------------------------- password


def test_changing_the_password_ends_the_other_session_records(app, reader):
    here, elsewhere = app.test_client(), app.test_client()
    _login(here)
    _login(elsewhere, remember="y")
    stolen = _copy(elsewhere, app, "session", "remember_token")

    here.post("/account/password", data={"current_password": PASSWORD,
                                         "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert len(_sessions(app, reader)) == 1
    assert here.get("/account/").status_code == 200
    assert stolen.get("/account/").status_code == 302


def test_resetting_the_password_ends_every_session(app, reader):
    from app.membership import members

    signed_in = app.test_client()
    _login(signed_in, remember="y")
    with app.app_context():
        token = members.make_reset_token(db.session.get(Member, reader))

    app.test_client().post(f"/account/reset/{token}",
                           data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert _sessions(app, reader) == []
    assert signed_in.get("/account/").status_code == 302


# --------------------------------------------------------------------------- the loader


def test_a_members_page_loads_member_and_session_in_one_query(app, client, reader):
    _login(client)
    client.get("/account/sessions")

    with counting_statements(app) as statements:
        assert client.get("/cart").status_code == 200

    touching = [s for s in statements if "member_sessions" in s]
    assert len(touching) == 1 and touching[0].lstrip().upper().startswith("SELECT")


def test_last_seen_is_written_at_most_once_per_interval(app, client, reader):
    _login(client)
    with app.app_context():
        db.session.execute(sa.update(MemberSession).values(
            last_seen_at=utcnow() - timedelta(hours=1)))
        db.session.commit()

    with counting_statements(app) as first:
        client.get("/cart")
    with counting_statements(app) as second:
        client.get("/cart")

    assert sum("UPDATE member_sessions" in s for s in first) == 1
    assert sum("UPDATE member_sessions" in s for s in second) == 0
    [after] = _sessions(app, reader)
    assert after.last_seen_at > utcnow() - timedelta(minutes=1)


def test_a_session_unused_for_longer_than_the_remember_cookie_lasts_is_over(app, client, reader):
    _login(client, remember="y")
    with app.app_context():
        db.session.execute(sa.update(MemberSession).values(
            last_seen_at=utcnow() - timedelta(days=31)))
        db.session.commit()

    assert client.get("/account/").status_code == 302


# --------------------------------------------------------------------------- lock order


def test_logging_in_writes_the_cart_lines_before_the_member_row_as_a_checkout_does(
        app, client, reader):
    """A checkout takes the member's cart lines first and writes the member row last; a login
    that merges a visitor's cart must take them in the same order, or a login and a checkout
    of the same member at once can deadlock on PostgreSQL."""
    with app.app_context():
        book_id = make_book(title="Lock Order", stock_on_hand=3).id
        db.session.commit()
    client.post("/cart/add", data={"book_id": book_id, "quantity": 1})

    with counting_statements(app) as statements:
        assert _login(client).status_code == 302

    writes = [s.split()[0:3] for s in statements if s.lstrip().upper().startswith(
        ("INSERT", "UPDATE", "DELETE"))]
    cart_write = next(i for i, w in enumerate(writes) if "cart_line" in " ".join(w).lower())
    member_write = next(i for i, w in enumerate(writes) if w[:2] == ["UPDATE", "member"])
    assert cart_write < member_write, writes
