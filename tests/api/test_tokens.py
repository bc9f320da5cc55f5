"""Personal access tokens: made and revoked by their owners, stored hashed, refused when
revoked or expired, scoped, and never replaced by a session cookie."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.api import tokens as token_rules
from app.api.models import ApiToken
from app.core.audit.models import AuditEntry
from app.core.extensions import db
from tests.api.conftest import bearer, make_token
from tests.factories import make_member
from tests.pages import csrf_token, log_in

PROBLEM = "application/problem+json"


def test_a_token_is_stored_as_its_hash_and_shown_once(app):
    with app.app_context():
        member = make_member()
        new = token_rules.create_token(member, "phone", ["me"], None, actor=member)
        db.session.commit()
        stored = db.session.get(ApiToken, new.token.id)

        assert new.secret.startswith("bst_")
        assert stored.token_hash == token_rules.hash_secret(new.secret)
        assert new.secret not in {stored.token_hash, stored.prefix, stored.name}
        assert new.secret.startswith(stored.prefix)


def test_a_member_may_not_give_a_token_staff_scopes(app):
    with app.app_context():
        member = make_member()
        try:
            token_rules.create_token(member, "x", ["orders:read"], None, actor=member)
        except token_rules.TokenFieldError as error:
            assert error.field == "scopes"
        else:
            raise AssertionError("a member made a token with a staff scope")


def test_a_call_with_a_token_reaches_the_owners_profile(client, people):
    response = client.get("/api/v1/me", headers=bearer(people["rosa"]))

    assert response.status_code == 200
    assert response.json["email"] == "rosa@example.test"


def test_a_revoked_token_is_refused_with_a_401_problem(app, client, people):
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(
            ApiToken.token_hash == token_rules.hash_secret(people["rosa"])))
        token_rules.revoke_token(token.id, token.member)
        db.session.commit()

    response = client.get("/api/v1/me", headers=bearer(people["rosa"]))

    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.json["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(app, client):
    with app.app_context():
        member = make_member()
        secret = make_token(member, ["me"], expires_in_days=1)
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.member_id == member.id))
        token.expires_at = token.expires_at - timedelta(days=2)
        db.session.commit()

    response = client.get("/api/v1/me", headers=bearer(secret))

    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_an_unknown_token_and_a_malformed_header_are_refused(client, people):
    assert client.get("/api/v1/me", headers=bearer("bst_nothing")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic eDp5"}).status_code == 401
    assert client.get("/api/v1/me").status_code == 401


def test_a_token_without_the_scope_gets_a_403_problem(client, people):
    response = client.get("/api/v1/orders", headers=bearer(people["rosa"]))

    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    assert "orders:read" in response.json["detail"]


def test_a_members_token_cannot_read_another_members_order(app, client, people):
    from tests.factories import make_placed_order

    with app.app_context():
        from app.membership.models import Member

        otto = db.session.get(Member, people["ids"]["otto"])
        order_id = make_placed_order(member=otto).id
        db.session.commit()

    assert client.get(f"/api/v1/me/orders/{order_id}",
                      headers=bearer(people["otto"])).status_code == 200
    response = client.get(f"/api/v1/me/orders/{order_id}", headers=bearer(people["rosa"]))
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    # and no staff route lets a member's token at it either
    assert client.get(f"/api/v1/orders/{order_id}",
                      headers=bearer(people["rosa"])).status_code == 403


def test_a_logged_in_browser_without_a_token_is_not_let_in(client, people):
    log_in(client, "rosa@example.test")

    assert client.get("/account/").status_code in (200, 302)
    assert client.get("/api/v1/me").status_code == 401


def test_last_use_is_written_at_most_once_a_minute(app, client, people):
    client.get("/api/v1/me", headers=bearer(people["rosa"]))
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(
            ApiToken.token_hash == token_rules.hash_secret(people["rosa"])))
        first = token.last_used_at
    client.get("/api/v1/me", headers=bearer(people["rosa"]))
    with app.app_context():
        token = db.session.get(ApiToken, token.id)

        assert first is not None
        assert token.last_used_at == first


def test_a_member_makes_and_revokes_a_token_on_the_account_page(app, client, people):
    log_in(client, "otto@example.test")
    page = client.post("/account/tokens", data={
        "csrf_token": csrf_token(client, "/account/tokens"), "name": "my script",
        "scopes": ["me"]})

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    text = page.get_data(as_text=True)
    secret = text.split('data-testid="token-secret">')[1].split("<")[0]
    assert client.get("/api/v1/me", headers=bearer(secret)).json["email"] == "otto@example.test"
    assert secret not in client.get("/account/tokens").get_data(as_text=True)  # shown once

    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id).where(
            ApiToken.token_hash == token_rules.hash_secret(secret)))
    revoked = client.post(f"/account/tokens/{token_id}/revoke",
                          data={"csrf_token": csrf_token(client, "/account/tokens")})
    assert revoked.status_code == 303
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_the_account_page_offers_members_no_staff_scope(client, people):
    log_in(client, "otto@example.test")
    page = client.post("/account/tokens", data={
        "csrf_token": csrf_token(client, "/account/tokens"), "name": "sneaky",
        "scopes": ["orders:read"]})

    assert page.status_code == 400


def test_staff_make_a_token_with_staff_scopes_in_admin(app, client, people):
    log_in(client, "clerk@example.test")
    page = client.post("/admin/api-tokens", data={
        "csrf_token": csrf_token(client, "/admin/api-tokens"), "name": "warehouse",
        "scopes": ["stock:write"], "expires_in_days": "30"})

    assert page.status_code == 200
    secret = page.get_data(as_text=True).split('data-testid="token-secret">')[1].split("<")[0]
    assert client.get("/api/v1/demand/books", headers=bearer(secret)).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "api_token.create")) >= 1


def test_members_cannot_reach_the_admin_token_page(client, people):
    log_in(client, "otto@example.test")

    assert client.get("/admin/api-tokens").status_code == 403


def test_a_token_is_made_from_the_command_line_and_works(app, client, people):
    runner = app.test_cli_runner()

    made = runner.invoke(args=["api-token", "create", "clerk@example.test", "--name",
                               "warehouse", "--scope", "stock:write", "--days", "90"])
    refused = runner.invoke(args=["api-token", "create", "otto@example.test", "--name", "x",
                                  "--scope", "orders:read"])

    assert made.exit_code == 0, made.output
    secret = made.output.strip()
    assert client.get("/api/v1/demand/books", headers=bearer(secret)).status_code == 200
    assert refused.exit_code != 0 and "scope" in refused.output


def test_an_answer_to_a_token_is_kept_by_no_shared_cache(client, people):
    response = client.get("/api/v1/me", headers=bearer(people["rosa"]))

    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Authorization" in response.headers["Vary"]


def test_admins_revoke_anyones_token_and_staff_only_their_own(app, client, people):
    with app.app_context():
        rosa_token = db.session.scalar(sa.select(ApiToken.id).where(
            ApiToken.token_hash == token_rules.hash_secret(people["rosa"])))

    log_in(client, "clerk@example.test")
    refused = client.post(f"/admin/api-tokens/{rosa_token}/revoke",
                          data={"csrf_token": csrf_token(client, "/admin/api-tokens")})
    assert refused.status_code == 303
    assert client.get("/api/v1/me", headers=bearer(people["rosa"])).status_code == 200

    client.post("/account/logout")
    log_in(client, "boss@example.test")
    listed = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "rosa@example.test" in listed
    client.post(f"/admin/api-tokens/{rosa_token}/revoke",
                data={"csrf_token": csrf_token(client, "/admin/api-tokens")})
    assert client.get("/api/v1/me", headers=bearer(people["rosa"])).status_code == 401


def test_the_account_overview_leads_to_the_token_page(client, people):
    log_in(client, "otto@example.test")

    assert 'href="/account/tokens"' in client.get("/account/").get_data(as_text=True)


def test_a_token_may_use_only_the_scopes_its_owner_may_still_hold(app, client, people):
    # A role set outside the admin pages (the command line, the database) sends no signal:
    # the token is still checked against the owner's role at every call.
    from app.membership.models import Member, Role

    with app.app_context():
        clerk = db.session.get(Member, people["ids"]["clerk"])
        clerk.role = Role.MEMBER
        db.session.commit()

    response = client.get("/api/v1/customers", headers=bearer(people["customers_read"]))

    assert response.status_code == 403
    assert response.mimetype == PROBLEM
    assert "customers:read" in response.json["detail"]
    assert client.get("/api/v1/orders", headers=bearer(people["orders_read"])).status_code == 403


def test_a_demoted_member_of_staff_loses_their_staff_tokens_at_once(app, client, people):
    from app.crm.customer_admin import change_role
    from app.membership.models import Member, Role

    with app.app_context():
        clerk = db.session.get(Member, people["ids"]["clerk"])
        keep = make_token(clerk, ["catalog:read"], name="catalogue only")
        change_role(clerk, Role.MEMBER, db.session.get(Member, people["ids"]["boss"]))
        db.session.commit()
        tokens = {t.prefix: t.revoked_at for t in token_rules.tokens_of(clerk)}
        revocations = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                        .where(AuditEntry.action == "api_token.revoke"))

    assert client.get("/api/v1/customers",
                      headers=bearer(people["customers_read"])).status_code == 401
    assert client.get("/api/v1/books", headers=bearer(keep)).status_code == 200
    assert sum(1 for at in tokens.values() if at is not None) == 4  # every staff-scoped one
    assert tokens[keep[:token_rules.PREFIX_LENGTH]] is None
    assert revocations == 4
