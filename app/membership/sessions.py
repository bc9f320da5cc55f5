"""Signed-in sessions kept on the server: one row per browser a member logged in on.

Flask-Login keeps `<session key>.<auth token>` (Member.get_session_id) in the session cookie and
the remember cookie; the login loader (app.membership.login) accepts it only while the row
exists and the token is current. So logging out (which deletes the row) ends every copy of the
cookies, and so do ending a session from the sessions page and changing the password.

Every sign-in is also kept in the member's sign-in history (MemberSignIn: when, how, what kind
of browser), which outlives the session (the customer's timeline shows it) and is pruned after
SIGN_IN_HISTORY_DAYS (`prune_sign_ins`, `flask members prune-sign-ins`).

A front door may keep a member's reader for a few seconds (app.serving.front_door): whatever
must show at once in every browser (a session ended, an account deactivated or reactivated, a
role, password or saved language changed) makes every kept reader stale when it commits
(`readers_changed`, and the flush listener below for the Member's own attributes).

Flush, never commit: the view commits.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.membership.models import Member, MemberSession, MemberSignIn
from app.serving import page_store

log = logging.getLogger(__name__)

USER_AGENT_KEPT = 200
# How a member signed in (MemberSignIn.way).
SIGN_IN_WAYS = {"password": _l("with the password"), "join": _l("on confirming the address")}


def idle_limit() -> timedelta:
    """A session unused for this long is over, whatever the cookies say (the remember
    cookie's lifetime)."""
    seconds = current_app.config.get("REMEMBER_COOKIE_DURATION", 30 * 24 * 3600)
    if isinstance(seconds, timedelta):
        return seconds
    return timedelta(seconds=int(seconds))


def start(member: Member, user_agent: str | None, way: str = "password") -> MemberSession:
    """A new session for `member` on this browser; the member object carries its key for
    `login_user` (Member.get_session_id), and its `last_login_at` is set. The sign-in is
    kept in the history (`way`: a SIGN_IN_WAYS key). Sessions idle past the limit are cleared.
    Call it after the visitor's cart is merged: the member row is written last, as a checkout
    writes it last (see members.authenticate)."""
    if way not in SIGN_IN_WAYS:
        raise ValueError(f"unknown way of signing in {way!r}")
    now = utcnow()
    db.session.execute(sa.delete(MemberSession).where(
        MemberSession.member_id == member.id, MemberSession.last_seen_at < now - idle_limit()))
    row = MemberSession(member_id=member.id, created_at=now, last_seen_at=now,
                        user_agent=(user_agent or "")[:USER_AGENT_KEPT])
    db.session.add(row)
    db.session.add(MemberSignIn(member_id=member.id, signed_in_at=now, way=way,
                                browser=browser_key(user_agent)))
    member.last_login_at = now
    db.session.flush()
    member.session_key = row.key
    return row


_READERS_CHANGED = "bookstation.readers_changed"  # Session.info: forget kept readers at commit
# A Member's attributes a kept reader stands for: its session test, its kind and language.
_READER_ATTRIBUTES = ("auth_token", "is_active_account", "role", "locale")


def readers_changed() -> None:
    """Say that the current transaction changes what a kept reader stands for (it ends a
    session): when it commits, every front door looks its readers up again."""
    db.session.info[_READERS_CHANGED] = True


@sa.event.listens_for(Session, "before_flush")
def _note_reader_changes(session: Session, _context, _instances) -> None:
    if session.info.get(_READERS_CHANGED):
        return
    for obj in session.deleted:
        if isinstance(obj, Member | MemberSession):
            session.info[_READERS_CHANGED] = True
            return
    for obj in session.dirty:
        if isinstance(obj, Member):
            attrs = sa.inspect(obj).attrs
            if any(attrs[name].history.has_changes() for name in _READER_ATTRIBUTES):
                session.info[_READERS_CHANGED] = True
                return


@sa.event.listens_for(Session, "after_commit")
def _forget_kept_readers(session: Session) -> None:
    if session.info.pop(_READERS_CHANGED, None):
        try:
            page_store.forget_readers()
        except Exception:  # the shared cache is down: kept readers age out (READER_KEEP_SECONDS)
            log.warning("could not make the kept readers stale", exc_info=True)


@sa.event.listens_for(Session, "after_rollback")
def _keep_kept_readers(session: Session) -> None:
    session.info.pop(_READERS_CHANGED, None)


def current_key(member: Member) -> str | None:
    """The key of the session this member object was loaded or logged in with."""
    return member.__dict__.get("session_key")


def end(key: str | None) -> None:
    """End one session by its key (logging out); no such session is fine."""
    if key:
        db.session.execute(sa.delete(MemberSession).where(MemberSession.key == key))
        readers_changed()


def end_by_id(member: Member, session_id: int) -> bool:
    """End one of the member's sessions (the sessions page); False if it is not theirs."""
    result = db.session.execute(sa.delete(MemberSession).where(
        MemberSession.id == session_id, MemberSession.member_id == member.id))
    if result.rowcount == 1:
        readers_changed()
    return result.rowcount == 1


def end_others(member: Member, keep_key: str | None) -> int:
    """End every session of the member but `keep_key`'s; how many ended."""
    stmt = sa.delete(MemberSession).where(MemberSession.member_id == member.id)
    if keep_key:
        stmt = stmt.where(MemberSession.key != keep_key)
    ended = db.session.execute(stmt).rowcount
    if ended:
        readers_changed()
    return ended


def end_all(member: Member) -> int:
    return end_others(member, None)


def of_member(member: Member) -> list[MemberSession]:
    """The member's sessions, the most recently used first."""
    return list(db.session.scalars(
        sa.select(MemberSession).where(MemberSession.member_id == member.id,
                                       MemberSession.last_seen_at >= utcnow() - idle_limit())
        .order_by(MemberSession.last_seen_at.desc(), MemberSession.id.desc())))


# --------------------------------------------------------------------------- sign-in history


def history_days() -> int:
    return int(current_app.config.get("SIGN_IN_HISTORY_DAYS", 365))


def prune_sign_ins(now: datetime | None = None) -> int:
    """Forget sign-ins older than SIGN_IN_HISTORY_DAYS; how many went."""
    cutoff = (now or utcnow()) - timedelta(days=history_days())
    return db.session.execute(
        sa.delete(MemberSignIn).where(MemberSignIn.signed_in_at < cutoff)).rowcount or 0


def way_label(way: str | None) -> str:
    return str(SIGN_IN_WAYS.get(way or "", way or ""))


# --------------------------------------------------------------------------- describing a browser

# Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari".
_BROWSERS = [
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/")),
    ("Safari", re.compile(r"Safari/")),
]
_SYSTEMS = [
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
]


def browser_key(user_agent: str | None) -> str:
    """The kind of browser, in no language: "Firefox/Linux", "Firefox/", "/Linux" or ""
    (what the sign-in history keeps: no version, nothing that tells one person's browser from
    another's)."""
    text = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(text)), "")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(text)), "")
    return f"{browser}/{system}" if browser or system else ""


def describe(user_agent: str | None) -> str:
    """A short, readable name for a browser, e.g. "Firefox on Linux"."""
    return describe_key(browser_key(user_agent))


def describe_key(key: str | None) -> str:
    """A `browser_key` in words, e.g. "Firefox on Linux"."""
    browser, _slash, system = (key or "").partition("/")
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser or system:
        return browser or system or ""
    return _("An unknown browser")
