"""Unsubscribe tokens: the fast fan-out minter writes exactly what the checker accepts."""

from __future__ import annotations

import pytest

from app.demand import tokens
from app.demand.tokens import InvalidUnsubscribeToken, Target, TokenMinter


def test_tokens_minted_in_bulk_are_read_like_ordinary_ones(ctx):
    minter = TokenMinter()

    assert tokens.read_token(minter.for_member(42)) == Target(member_id=42)
    assert tokens.read_token(minter.for_email("A/b+c@Example.test")) == Target(
        email="a/b+c@example.test")
    assert tokens.read_token(tokens.token_for_member(7)) == Target(member_id=7)


def test_a_token_signed_with_another_secret_or_salt_is_refused(ctx, app):
    from itsdangerous import URLSafeTimedSerializer

    other_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="password-reset")
    other_key = URLSafeTimedSerializer("not-our-secret", salt="unsubscribe")

    for token in (other_salt.dumps({"m": 1}), other_key.dumps({"m": 1}), "", "x" * 300):
        with pytest.raises(InvalidUnsubscribeToken):
            tokens.read_token(token)


def test_a_well_signed_token_with_an_unexpected_payload_is_refused(ctx):
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    signer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")
    for payload in ({"m": "1"}, {"e": ""}, [1], "m"):
        with pytest.raises(InvalidUnsubscribeToken):
            tokens.read_token(signer.dumps(payload))
