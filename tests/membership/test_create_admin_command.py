"""`flask create-admin`: the way the first admin gets in, and how a member becomes staff."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db
from app.models import Member, Role
from tests.factories import make_member
from tests.pages import post_login

PASSWORD = "a long admin passphrase"


def _member(app, email: str) -> Member | None:
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.email == email))
        if member is not None:
            db.session.expunge(member)
        return member


def test_create_admin_makes_an_admin_who_can_log_in_and_open_the_admin(app, runner, client):
    result = runner.invoke(args=["create-admin", "--email", "Boss@Example.test",
                                 "--name", "Grace Boss", "--password", PASSWORD])

    admin = _member(app, "boss@example.test")
    assert result.exit_code == 0, result.output
    assert "Created admin boss@example.test" in result.output
    assert admin.role is Role.ADMIN and admin.name == "Grace Boss"
    assert admin.member_no.startswith("M")
    login = post_login(client, "boss@example.test", PASSWORD)
    assert login.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_create_admin_asks_for_what_is_missing_with_a_hidden_confirmed_password(app, runner):
    result = runner.invoke(args=["create-admin"],
                           input=f"boss@example.test\nGrace Boss\n{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # typed, never echoed
    assert "Repeat for confirmation" in result.output
    assert _member(app, "boss@example.test").role is Role.ADMIN


def test_create_admin_can_make_a_staff_member(app, runner):
    result = runner.invoke(args=["create-admin", "--email", "clerk@example.test", "--name",
                                 "Clerk", "--password", PASSWORD, "--role", "staff"])

    assert result.exit_code == 0, result.output
    assert _member(app, "clerk@example.test").role is Role.STAFF


def test_create_admin_promotes_an_existing_member_instead_of_failing(app, runner, client):
    with app.app_context():
        make_member(email="ada@example.test", name="Ada")
        db.session.commit()

    result = runner.invoke(args=["create-admin", "--email", "ADA@example.test"])

    ada = _member(app, "ada@example.test")
    assert result.exit_code == 0, result.output
    assert "promoted from member to admin" in result.output
    assert ada.role is Role.ADMIN and ada.name == "Ada"
    post_login(client, "ada@example.test")
    assert client.get("/admin/").status_code == 200  # the old password still works


def test_create_admin_leaves_an_existing_admin_alone(app, runner):
    with app.app_context():
        make_member(email="boss@example.test", role=Role.ADMIN)
        db.session.commit()

    result = runner.invoke(args=["create-admin", "--email", "boss@example.test",
                                 "--role", "staff"])

    assert result.exit_code == 0
    assert "nothing changed" in result.output
    assert _member(app, "boss@example.test").role is Role.ADMIN


def test_create_admin_refuses_a_weak_password_and_creates_nobody(app, runner):
    result = runner.invoke(args=["create-admin", "--email", "boss@example.test",
                                 "--name", "Boss", "--password", "short"])

    assert result.exit_code == 1
    assert "Use at least" in result.output
    assert _member(app, "boss@example.test") is None


def test_create_admin_refuses_a_bad_email(app, runner):
    result = runner.invoke(args=["create-admin", "--email", "not-an-email",
                                 "--name", "Boss", "--password", PASSWORD])

    assert result.exit_code == 1
    assert "valid email address" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 0
