"""Personal access tokens: making, listing, revoking and checking them.

A token's secret is `bst_` followed by `secrets.token_urlsafe(32)`; the shop keeps only its
SHA-256 (`token_hash`) and its first characters (`prefix`, shown in lists), so the secret is
shown once, when the token is made, and never again. A token carries scopes (`SCOPES`):
members may give their own tokens `me` and `catalog:read` only; staff and admins any scope.
A token is refused once revoked or expired, or when its owner's account is closed or erased.
Its last use is written at most once a minute (`TOUCH_EVERY`).

Services flush, never commit; every token made or revoked is in the audit log under whoever
did it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from app.api.models import ApiIdempotentResult, ApiToken
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.membership.models import Member, Role

SECRET_PREFIX = "bst_"
PREFIX_LENGTH = 12  # "bst_" and 8 characters of the secret: enough to tell tokens apart
NAME_MAX_LENGTH = 100
MAX_EXPIRY_DAYS = 366
TOUCH_EVERY = timedelta(minutes=1)

#: Every scope, in the order the forms list them.
SCOPES = ("catalog:read", "me", "orders:read", "orders:write", "stock:write",
          "customers:read", "customers:write")
#: What a member may give a token of their own.
MEMBER_SCOPES = ("catalog:read", "me")


class TokenFieldError(InvalidInput):
    """Input refused for one field of the token form; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def scopes_for(member: Member) -> tuple[str, ...]:
    """The scopes `member` may give a token of their own."""
    return SCOPES if member.has_role(Role.STAFF) else MEMBER_SCOPES


def effective_scopes(token: ApiToken) -> frozenset[str]:
    """What the token may do now: its scopes that its owner may still hold (a member of staff
    made a member keeps no staff scope, whatever their old tokens say)."""
    return token.scope_set & frozenset(scopes_for(token.member))


def create_token(owner: Member, name: str, scopes: list[str] | tuple[str, ...],
                 expires_in_days: int | None, actor: Member) -> NewToken:
    """Make a token for `owner` (the actor themselves, or a member of staff for themselves).
    Raises TokenFieldError for an empty or long name, no scope, a scope the owner may not
    have, or an expiry outside 1..MAX_EXPIRY_DAYS days."""
    name = " ".join((name or "").split())
    if not name:
        raise TokenFieldError("name", _("Give the token a name, so you know it later."))
    if len(name) > NAME_MAX_LENGTH:
        raise TokenFieldError("name", _("At most %(max)d characters, please.",
                                        max=NAME_MAX_LENGTH))
    chosen = [scope for scope in SCOPES if scope in set(scopes or ())]
    if not chosen:
        raise TokenFieldError("scopes", _("Choose at least one scope."))
    allowed = scopes_for(owner)
    if any(scope not in allowed for scope in scopes or ()):
        raise TokenFieldError("scopes", _("This account may not give a token that scope."))
    expires_at = None
    if expires_in_days is not None:
        if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int) or not (
                1 <= expires_in_days <= MAX_EXPIRY_DAYS):
            raise TokenFieldError("expires_in_days", _(
                "Enter a number of days from 1 to %(max)s, or leave it empty.",
                max=MAX_EXPIRY_DAYS))
        expires_at = utcnow() + timedelta(days=expires_in_days)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(member_id=owner.id, name=name, token_hash=hash_secret(secret),
                     prefix=secret[:PREFIX_LENGTH], scopes=" ".join(chosen),
                     created_at=utcnow(), expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(actor.id, actor.email, "api_token.create", token,
                 # not its name: a member's own words, which erasure could not reach here
                 after={"owner_id": owner.id, "prefix": token.prefix, "scopes": chosen,
                        "expires_at": expires_at},
                 summary=f"API token {token.prefix}… ({' '.join(chosen)})")
    return NewToken(token=token, secret=secret)


def tokens_of(member: Member) -> list[ApiToken]:
    """The member's tokens, newest first (revoked ones too, marked)."""
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.member_id == member.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def all_tokens(limit: int = 500) -> list[ApiToken]:
    """Every token, newest first (for the admin page)."""
    return list(db.session.scalars(
        sa.select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(limit)))


def revoke_token(token_id: int, actor: Member, *, any_owner: bool = False) -> ApiToken:
    """Revoke a token of the actor's own (or anyone's, with `any_owner`, for admins); revoking
    it again changes nothing. NotFound for a token that is not theirs."""
    token = db.session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if token is None or (token.member_id != actor.id and not any_owner):
        raise NotFound(_("There is no such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record(actor.id, actor.email, "api_token.revoke", token,
                     after={"owner_id": token.member_id, "prefix": token.prefix},
                     summary=f"API token {token.prefix}… revoked")
    return token


def revoke_tokens_beyond_role(member: Member, actor: Member) -> list[ApiToken]:
    """Revoke the member's live tokens that carry a scope their role no longer allows (called
    when their role changes; a token is checked against the role at every use anyway). Each
    revocation is in the audit log under `actor`."""
    allowed = frozenset(scopes_for(member))
    revoked = []
    for token in db.session.scalars(sa.select(ApiToken).where(
            ApiToken.member_id == member.id, ApiToken.revoked_at.is_(None))):
        if token.scope_set - allowed:
            token.revoked_at = utcnow()
            revoked.append(token)
    if revoked:
        db.session.flush()
    for token in revoked:
        audit.record(actor.id, actor.email, "api_token.revoke", token,
                     after={"owner_id": token.member_id, "prefix": token.prefix,
                            "reason": "role", "role": member.role.value},
                     summary=f"API token {token.prefix}… revoked: its owner's role changed")
    return revoked


def on_member_role_changed(member: Member, *, actor: Member, **_kwargs) -> None:
    """Receiver of core.signals.member_role_changed."""
    revoke_tokens_beyond_role(member, actor)


def authenticate(secret: str, now: datetime | None = None) -> ApiToken | None:
    """The usable token with this secret, or None (unknown, revoked, expired, or its owner's
    account closed or erased). Does not write; see `needs_touch`."""
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    now = now or utcnow()
    token = db.session.scalar(sa.select(ApiToken).where(
        ApiToken.token_hash == hash_secret(secret)))
    if token is None or not token.is_usable(now):
        return None
    owner = token.member
    if not owner.is_active_account or owner.erased_at is not None:
        return None
    return token


def touch(token: ApiToken, now: datetime | None = None) -> bool:
    """Note the token's use, at most once every TOUCH_EVERY (one conditional UPDATE); True if
    written. The caller commits."""
    now = now or utcnow()
    if token.last_used_at is not None and token.last_used_at > now - TOUCH_EVERY:
        return False
    result = db.session.execute(
        sa.update(ApiToken).where(ApiToken.id == token.id, sa.or_(
            ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


# --------------------------------------------------------------------------- personal data


def erase(member: Member, _placeholder: str) -> None:
    """Erasure: the member's tokens and the answers kept for their idempotency keys go."""
    db.session.execute(sa.delete(ApiToken).where(ApiToken.member_id == member.id))
    db.session.execute(sa.delete(ApiIdempotentResult)
                       .where(ApiIdempotentResult.member_id == member.id))
