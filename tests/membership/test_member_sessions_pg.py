"""Server-side sessions on PostgreSQL (issue 17, item 2): logout ends every copy of the cookies,
and the throttled last-seen write works under the lazy-BEGIN connection handling."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.models import MemberSession
from tests.factories import make_member
from tests.pages import post_login

PASSWORD = "correct horse 1"


def test_copied_cookies_stop_working_after_logout_on_postgresql(pg_app):
    with pg_app.app_context():
        make_member(email="pg@example.com", password=PASSWORD)
        db.session.commit()
    browser = pg_app.test_client()
    post_login(browser, "pg@example.com", PASSWORD, remember="y")
    thief, remembered = pg_app.test_client(), pg_app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    remembered.set_cookie("remember_token", browser.get_cookie("remember_token").value)
    assert thief.get("/account/").status_code == 200

    browser.post("/account/logout")

    assert thief.get("/account/").status_code == 302
    assert remembered.get("/account/").status_code == 302


def test_last_seen_is_written_on_postgresql(pg_app):
    with pg_app.app_context():
        make_member(email="pg@example.com", password=PASSWORD)
        db.session.commit()
    browser = pg_app.test_client()
    post_login(browser, "pg@example.com", PASSWORD)
    with pg_app.app_context():
        db.session.execute(sa.update(MemberSession).values(
            last_seen_at=utcnow() - timedelta(hours=1)))
        db.session.commit()

    assert browser.get("/cart").status_code == 200

    with pg_app.app_context():
        seen = db.session.scalar(sa.select(MemberSession.last_seen_at))
    assert seen > utcnow() - timedelta(minutes=1)
