"""Fixtures for the API: tokens made through the service, and a way to call with them."""

from __future__ import annotations

import pytest

from app.api import tokens as token_rules
from app.core.extensions import db
from app.membership.models import Member
from tests.factories import make_admin, make_member, make_staff


def make_token(member: Member, scopes, *, expires_in_days=None, name="test") -> str:
    """A token of `member` with `scopes` (inside an app context; flushed, not committed)."""
    return token_rules.create_token(member, name, list(scopes), expires_in_days,
                                    actor=member).secret


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def people(app) -> dict:
    """A member (Rosa), another member (Otto), a member of staff and an admin, each with
    tokens: `tokens[name]` holds secrets by scope set."""
    with app.app_context():
        rosa = make_member(email="rosa@example.test", name="Rosa Reader")
        otto = make_member(email="otto@example.test", name="Otto Other")
        clerk = make_staff(email="clerk@example.test", name="Clara Clerk")
        boss = make_admin(email="boss@example.test", name="Bea Boss")
        result = {
            "ids": {"rosa": rosa.id, "otto": otto.id, "clerk": clerk.id, "boss": boss.id},
            "rosa": make_token(rosa, ["me", "catalog:read"]),
            "otto": make_token(otto, ["me"]),
            "catalog": make_token(rosa, ["catalog:read"]),
            "orders_read": make_token(clerk, ["orders:read"]),
            "orders_write": make_token(clerk, ["orders:read", "orders:write"]),
            "stock": make_token(clerk, ["stock:write"]),
            "customers_read": make_token(clerk, ["customers:read"]),
            "customers_write": make_token(boss, ["customers:read", "customers:write"]),
        }
        db.session.commit()
        return result
