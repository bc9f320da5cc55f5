"""Logging members in: Flask-Login's user loader over the server-side sessions, and the values
read with the member.

The session and remember cookies carry "<session key>.<auth token>" (Member.get_session_id): a
member is loaded only while that session's row exists, is not idle past the limit and the token
is current (app.membership.sessions). The loader reads the member and the session in ONE query
per request, and on a GET that query also fills the member's `query_expression()` attributes
registered with `load_with_member` (the header's cart badge, the grade's discount): a page then
needs no query of its own for them. On any other method they stay unloaded (None), because a
POST may change them: their readers (`loaded_cart_count`, `loaded_discount_rate`) then read
them afresh. Features register their expressions in their own init_app, so this module
imports no feature above membership.

The session's last-seen time is written at most once every SESSION_TOUCH_SECONDS, after the
response, in a short transaction of its own.

The front door (app.serving.front_door), which answers a GET for a cached catalog page before
Flask, reads a logged-in reader with `read_reader`: the same session test in one Core query
(no ORM object), with the role, the saved language and the registered expressions.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from sqlalchemy.orm import QueryableAttribute, with_expression
from sqlalchemy.orm.attributes import set_committed_value

from app.core.db import utcnow
from app.core.errors import rendering_error_page
from app.core.extensions import db, login_manager
from app.core.i18n import lazy_gettext as _l
from app.membership.models import Member, MemberSession, Role, role_includes
from app.membership.sessions import idle_limit
from app.serving import db_session, page_store

_EXPRESSIONS = "bookstation.loaded_with_member"  # app.extensions: {attribute key: (attr, expr)}
_LOADER = "bookstation.member_loader"  # app.extensions: the _Loader, built at first use

_TOUCH = (sa.update(MemberSession)
          .where(MemberSession.id == sa.bindparam("session_id"))
          .values(last_seen_at=sa.bindparam("now")))


def register_login(app: Flask) -> None:
    """Flask-Login's settings, the user loader and the after-request hook that notes a
    session's last-seen time."""
    login_manager.login_view = "account.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.id_attribute = "get_session_id"
    app.extensions.setdefault(_EXPRESSIONS, {})
    login_manager.user_loader(load_member)
    app.after_request(note_last_seen)
    page_store.set_reader_lookup(app, read_reader)


def load_with_member(app: Flask, attribute: QueryableAttribute, expression) -> None:
    """Have the login loader fill `attribute` (a `query_expression()` of Member) with
    `expression` (a scalar SQL expression over the member's row) on every GET. Called by a
    feature's init_app; the loader's statements are built at the first request."""
    app.extensions.setdefault(_EXPRESSIONS, {})[attribute.key] = (attribute, expression)
    app.extensions.pop(_LOADER, None)


def loaded_cart_count(member: Member) -> int | None:
    """The copies in the member's cart as read with the member on this GET, else None."""
    count = member.loaded_cart_count
    return int(count) if count is not None else None


def loaded_discount_rate(member: Member) -> Decimal | None:
    """The discount rate of the member's grade in the tier table as read with the member on
    this GET; None when not read so, and also when the grade is not in the table."""
    return member.loaded_discount_rate


class _Loader(NamedTuple):
    on_get: sa.Select  # member, session id, last seen, with the registered expressions
    otherwise: sa.Select  # the same without them
    reader: sa.Select  # the front door's: role, language, last seen, the expressions (Core)
    filled: tuple[str, ...]  # the attributes the expressions fill
    touch_every: timedelta


def _loader(app: Flask) -> _Loader:
    """The loader's statements for `app`, built once: every member's request runs one, and
    building a statement costs about as much as running it."""
    loader = app.extensions.get(_LOADER)
    if loader is None:
        def live_session(*columns) -> sa.Select:
            """`columns` of the session `key` with the member's `token`, not idle `since`."""
            return (sa.select(*columns)
                    .join_from(Member, MemberSession, MemberSession.member_id == Member.id)
                    .where(MemberSession.key == sa.bindparam("key"),
                           Member.auth_token == sa.bindparam("token"),
                           MemberSession.last_seen_at >= sa.bindparam("since")))

        by_session = live_session(Member, MemberSession.id, MemberSession.last_seen_at)
        expressions = app.extensions.get(_EXPRESSIONS, {}).values()
        loader = app.extensions[_LOADER] = _Loader(
            on_get=by_session.options(*(with_expression(attribute, expression)
                                        for attribute, expression in expressions)),
            otherwise=by_session,
            reader=live_session(Member.id, Member.role, Member.locale,
                                Member.is_active_account, MemberSession.last_seen_at,
                                *(expression.label(attribute.key)
                                  for attribute, expression in expressions)),
            filled=tuple(attribute.key for attribute, _expression in expressions),
            touch_every=timedelta(seconds=app.config.get("SESSION_TOUCH_SECONDS", 300)),
        )
    return loader


def load_member(session_id: str) -> Member | None:
    """Flask-Login's user loader: the member whose session `session_id` names, or None. While
    the error page of a failure renders, a database that fails again means no member: the
    page is shown without them rather than not at all."""
    key, _dot, token = (session_id or "").partition(".")
    if not key or not token:
        return None  # a cookie from before sessions were kept: log in again
    loader = _loader(current_app)
    statement = loader.on_get if request.method == "GET" else loader.otherwise
    now = utcnow()
    try:
        row = db.session.execute(
            statement, {"key": key, "token": token, "since": now - idle_limit()}).first()
    except sa.exc.SQLAlchemyError:
        if not rendering_error_page():
            raise
        current_app.logger.warning("the error page is shown without the member: the database "
                                   "failed again", exc_info=True)
        return None
    if row is None:
        return None
    member, row_id, last_seen = row
    member.session_key = key
    if statement is loader.otherwise:  # unloaded, even on an object kept from an earlier GET
        for attribute in loader.filled:
            set_committed_value(member, attribute, None)
    if now - last_seen >= loader.touch_every:
        g.member_session_touch = row_id
    return member


def read_reader(login_id: str) -> page_store.Reader | None:
    """The front door's reader lookup (page_store.set_reader_lookup): the reader whose session
    `login_id` names, as `load_member` would accept it, with their role, saved language and the
    registered expressions (the cart badge) in a namespace standing for the member. None when
    `load_member` would not accept it; when the account is not active (Flask-Login counts such
    a member as logged out: `is_authenticated` is `is_active`); or when the session's last-seen
    time is due to be written (Flask writes it). Runs in an app context, outside any request:
    one Core query on a kept connection (db_session.kept_read_connection)."""
    key, _dot, token = (login_id or "").partition(".")
    if not key or not token:
        return None
    loader = _loader(current_app)
    now = utcnow()
    with db_session.kept_read_connection() as connection:
        row = connection.execute(
            loader.reader, {"key": key, "token": token, "since": now - idle_limit()}).first()
    if row is None or not row.is_active_account or now - row.last_seen_at >= loader.touch_every:
        return None
    values = row._mapping
    member = SimpleNamespace(id=row.id, **{name: values[name] for name in loader.filled})
    kind = "staff" if role_includes(row.role, Role.STAFF) else "member"
    # Kept by the front door no longer than until the last-seen time falls due.
    due_in = (loader.touch_every - (now - row.last_seen_at)).total_seconds()
    keep_for = min(float(current_app.config.get("READER_KEEP_SECONDS", 0)), due_in)
    return page_store.Reader(kind, row.locale, member, keep_for)


def note_last_seen(response):
    """Write the session's last-seen time, at most once every SESSION_TOUCH_SECONDS, in a
    short transaction of its own (the request's own may be rolled back or hold nothing)."""
    row_id = g.pop("member_session_touch", None)
    if row_id is not None:
        try:
            with db.engine.begin() as connection:
                connection.execute(_TOUCH, {"session_id": row_id, "now": utcnow()})
        except sa.exc.SQLAlchemyError:  # a busy database: try again on a later request
            current_app.logger.warning("could not note a session's last-seen time",
                                       exc_info=True)
    return response
