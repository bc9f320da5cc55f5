"""Idempotency keys: a call made again with the same `Idempotency-Key` (by the same token
owner) gets the first call's answer and changes nothing.

`claim` writes the key's row as the request's first write, before the work: two calls with one
key at the same moment meet on the unique (member, key) index, and the second waits for the
first's commit (PostgreSQL) or the database's one writer (SQLite), rolls back and reads the
answer the first kept. (No savepoint: on SQLite a savepoint opened before any write starts a
transaction of its own, which its release commits.) A
key sent again with a different request is refused (422): the key names one call.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.api.models import ApiIdempotentResult
from app.core.db import utcnow
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.membership.models import Member


class KeyReused(InvalidInput):
    field = "Idempotency-Key"


def fingerprint(endpoint: str, payload: object) -> str:
    text = json.dumps([endpoint, payload], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _kept(member: Member, key: str) -> ApiIdempotentResult | None:
    return db.session.scalar(sa.select(ApiIdempotentResult).where(
        ApiIdempotentResult.member_id == member.id, ApiIdempotentResult.key == key))


def _check(kept: ApiIdempotentResult, endpoint: str, request_hash: str) -> None:
    if kept.endpoint != endpoint or kept.request_hash != request_hash:
        raise KeyReused(_("This Idempotency-Key was used for a different request."))


def claim(member: Member, key: str, endpoint: str, request_hash: str
          ) -> tuple[ApiIdempotentResult, bool]:
    """The key's row and whether it is new (do the work, then `keep` the answer) or kept from
    an earlier call (answer with it). Raises KeyReused for another request under the key.
    Must be the request's first write: losing the race rolls the session back."""
    kept = _kept(member, key)
    if kept is None:
        row = ApiIdempotentResult(member_id=member.id, key=key, endpoint=endpoint,
                                  request_hash=request_hash, status_code=0, body="",
                                  created_at=utcnow())
        db.session.add(row)
        try:
            db.session.flush()
            return row, True
        except IntegrityError:  # the same key at the same moment: the other call won
            db.session.rollback()
            kept = _kept(member, key)
            if kept is None:
                raise
    _check(kept, endpoint, request_hash)
    return kept, False


def keep(row: ApiIdempotentResult, status_code: int, body: dict) -> None:
    """Keep the first answer (the caller's commit makes it durable with the work)."""
    row.status_code = status_code
    row.body = json.dumps(body, sort_keys=True)
    db.session.flush()


def answer(row: ApiIdempotentResult) -> tuple[int, dict]:
    return row.status_code, json.loads(row.body)
