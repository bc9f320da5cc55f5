"""The API's own records: personal access tokens and the results kept for idempotency keys."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.extensions import db
from app.membership.models import Member


class ApiToken(db.Model):
    """A personal access token. Only the SHA-256 of its secret is kept (`token_hash`); the
    secret is shown once, when the token is made. `prefix` (the secret's first characters,
    `bst_` and a few more) is kept so a list can say which token is which."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scopes: Mapped[str] = mapped_column(sa.String(200))  # space-separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(lazy="joined")

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}…>"


class ApiIdempotentResult(db.Model):
    """The first answer to a call made with an `Idempotency-Key`: a retry with the same key
    (by the same token owner) gets this answer again and changes nothing."""

    __tablename__ = "api_idempotent_result"
    __table_args__ = (sa.UniqueConstraint("member_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(200))
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
