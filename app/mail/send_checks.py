"""Send-time checks: per kind of mail, whether a queued message is still wanted when a sender
is about to send it (the member opted out, the demand was cancelled...). Features register
theirs in their init_app; the sender runs them once per batch (`run_checks`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa

from app.core.extensions import db
from app.mail.models import OutboxMail
from app.mail.smtp import error_text
from app.membership.models import Member

log = logging.getLogger(__name__)


# Per kind, a check run at send time: False cancels the mail (e.g. the member opted out
# since it was queued). Features register theirs with `register_send_check`.
_send_checks: dict[str, Callable[[OutboxMail], bool]] = {}


def register_send_check(kind: str, check: Callable[[OutboxMail], bool]) -> None:
    _send_checks[kind] = check


# Per kind, a check run at send time: False cancels the mail (e.g. the member opted out
# since it was queued). `register_send_check(kind, check)` takes a check of one OutboxMail;
# `register_batch_send_check(kind, check)` one that answers for a whole batch in one query:
# check(rows) -> ids of the rows still wanted (rows have id, kind, dedupe_key, member_id,
# to_email).
_batch_send_checks: dict[str, Callable[[list[sa.Row]], set[int]]] = {}


def register_batch_send_check(kind: str, check: Callable[[list[sa.Row]], set[int]]) -> None:
    _batch_send_checks[kind] = check


def member_accepts_mail(rows: list[sa.Row]) -> set[int]:
    """A batch send check for mail the shop chooses to send (review invitations, campaigns):
    wanted while its member exists, is active and still accepts mail (`mail_opt_in`)."""
    member_ids = {row.member_id for row in rows if row.member_id is not None}
    if not member_ids:
        return set()
    accepting = set(db.session.scalars(
        sa.select(Member.id).where(Member.id.in_(member_ids), Member.mail_opt_in.is_(True),
                                   Member.is_active_account.is_(True))))
    return {row.id for row in rows if row.member_id in accepting}


def run_checks(rows: list[sa.Row]) -> tuple[set[int], dict[int, str]]:
    """(ids of unwanted rows, {id: error} of rows whose check itself broke)."""
    by_kind: dict[str, list[sa.Row]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    unwanted: set[int] = set()
    broken: dict[int, str] = {}
    for kind, group in by_kind.items():
        if kind in _batch_send_checks:
            try:
                wanted = _batch_send_checks[kind](group)
            except Exception as exc:  # the whole kind is undecided: retry these later
                log.exception("send check for %s failed", kind)
                broken.update((row.id, error_text(exc)) for row in group)
                db.session.rollback()
                continue
            unwanted.update(row.id for row in group if row.id not in wanted)
        elif kind in _send_checks:
            objects = {obj.id: obj for obj in db.session.scalars(
                sa.select(OutboxMail).where(OutboxMail.id.in_([row.id for row in group])))}
            for row in group:
                try:
                    if not _send_checks[kind](objects[row.id]):
                        unwanted.add(row.id)
                except Exception as exc:
                    log.exception("send check for mail %s failed", row.id)
                    broken[row.id] = error_text(exc)
                    db.session.rollback()
    db.session.commit()  # end the checks' read transaction (and expire what the caller holds)
    return unwanted, broken
