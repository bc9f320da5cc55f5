"""A member's API tokens are in their data export (never the hash) and go with erasure."""

from __future__ import annotations

import sqlalchemy as sa

from app.api.models import ApiToken
from app.core.extensions import db
from app.crm import erasure
from app.crm.member_export import member_data
from tests.api.conftest import bearer, make_token
from tests.factories import make_admin, make_member


def test_the_export_names_the_tokens_without_their_hash(ctx):
    ada = make_member()
    secret = make_token(ada, ["me"], name="reading app")
    db.session.commit()
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.member_id == ada.id))

    section = member_data(ada)["api_tokens"]

    assert [(t["name"], t["scopes"]) for t in section] == [("reading app", "me")]
    assert stored.token_hash not in str(member_data(ada))
    assert secret not in str(member_data(ada))


def test_erasure_deletes_the_tokens_and_they_stop_working(app, client):
    with app.app_context():
        boss = make_admin()
        ada = make_member()
        secret = make_token(ada, ["me"])
        db.session.commit()
        erasure.erase_member(ada, boss)
        db.session.commit()

        assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))
                                 .where(ApiToken.member_id == ada.id)) == 0

    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_the_audit_log_keeps_no_token_name_and_no_address_of_an_erased_member(ctx):
    from app.core.audit.models import AuditEntry

    boss = make_admin()
    ada = make_member(email="ada.secret@example.test")
    make_token(ada, ["me"], name="Ada's kitchen tablet")
    db.session.commit()
    erasure.erase_member(ada, boss)
    db.session.commit()

    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "api_token.create")).all()
    assert entries
    assert "kitchen" not in str([(e.summary, e.after, e.actor_label) for e in entries])
    assert "ada.secret" not in str([e.actor_label for e in entries])
