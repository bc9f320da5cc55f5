"""Request-level glue left to split: the member's login loader."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask, current_app, g, request

from app.core.db import utcnow
from app.core.extensions import db, login_manager
from app.core.i18n import lazy_gettext as _l


def register_login(app: Flask) -> None:
    from app.membership.models import Member, MemberSession
    from app.membership.sessions import idle_limit

    login_manager.login_view = "account.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    # The session and remember cookies carry "<session key>.<auth token>" (issue 17): a member
    # is loaded only while that session's row exists (logging out deletes it).
    login_manager.id_attribute = "get_session_id"

    from app.grades.tiers import discount_rate_column
    from app.ordering.cart import count_column

    # Built once: every member's request runs it, and building the statement cost about as
    # much as running it. The header's cart badge and the grade's discount come in the same
    # query (the cart page needs both), and so does the session: one query per request.
    by_session = (
        sa.select(Member, count_column(Member.id), discount_rate_column(Member.tier_code),
                  MemberSession.id, MemberSession.last_seen_at)
        .join(MemberSession, MemberSession.member_id == Member.id)
        .where(MemberSession.key == sa.bindparam("key"),
               Member.auth_token == sa.bindparam("token"),
               MemberSession.last_seen_at >= sa.bindparam("since"))
    )
    touch = (sa.update(MemberSession)
             .where(MemberSession.id == sa.bindparam("session_id"))
             .values(last_seen_at=sa.bindparam("now")))
    touch_every = timedelta(seconds=app.config.get("SESSION_TOUCH_SECONDS", 300))

    @login_manager.user_loader
    def load_member(session_id: str) -> Member | None:
        key, _dot, token = (session_id or "").partition(".")
        if not key or not token:
            return None  # a cookie from before sessions were kept: log in again
        now = utcnow()
        row = db.session.execute(
            by_session, {"key": key, "token": token, "since": now - idle_limit()}).first()
        if row is None:
            return None
        member, in_cart, rate, row_id, last_seen = row
        member.session_key = key
        g.member_loaded_with = (member.id, int(in_cart or 0), rate)
        if now - last_seen >= touch_every:
            g.member_session_touch = row_id
        return member

    @app.after_request
    def note_last_seen(response):
        """Write the session's last-seen time, at most once every SESSION_TOUCH_SECONDS, in a
        short transaction of its own (the request's own may be rolled back or hold nothing)."""
        row_id = g.pop("member_session_touch", None)
        if row_id is not None:
            try:
                with db.engine.begin() as connection:
                    connection.execute(touch, {"session_id": row_id, "now": utcnow()})
            except sa.exc.SQLAlchemyError:  # a busy database: try again on a later request
                current_app.logger.warning("could not note a session's last-seen time",
                                           exc_info=True)
        return response


def _loaded_with(member_id: int) -> tuple[int, int, Decimal | None] | None:
    """What was read with the member at the start of this request, for a GET only: a GET
    changes neither the cart nor the grade; a POST may have, so it reads them again."""
    kept = g.get("member_loaded_with")
    if kept is None or kept[0] != member_id or request.method != "GET":
        return None
    return kept


def loaded_cart_count(member_id: int) -> int | None:
    """The copies in the member's cart, read with the member (GET only; else None)."""
    kept = _loaded_with(member_id)
    return kept[1] if kept is not None else None


def loaded_discount_rate(member_id: int) -> Decimal | None:
    """The discount rate of the member's grade in the tier table, read with the member (GET
    only; None also when the grade is not in the table)."""
    kept = _loaded_with(member_id)
    return kept[2] if kept is not None else None
