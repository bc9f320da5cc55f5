"""Membership rules on a real database: joining, signing in, passwords and reset links."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app.core.errors import InvalidInput
from app.core.extensions import db
from app.membership import members, sessions
from app.models import Member, OutboxMail, Role
from config import Config
from tests.factories import make_member

GOOD_PASSWORD = "a long enough phrase"


def _join(email: str = "reader@example.com", password: str = GOOD_PASSWORD, name: str = "Ada"):
    """Join and follow the mailed link (issue 17: an address is confirmed before use)."""
    join_request = members.register(email, password, name)
    return members.confirm_join(members.make_join_token(join_request), password)


def _mail_kinds() -> list[str]:
    return list(db.session.scalars(sa.select(OutboxMail.kind).order_by(OutboxMail.id)))


# --------------------------------------------------------------------------- registration


@pytest.mark.parametrize("app_config", [{"PASSWORD_HASH_METHOD": Config.PASSWORD_HASH_METHOD}])
def test_registering_stores_a_normalised_email_and_a_hashed_password(ctx):
    """With the shop's own hash method (the tests' config uses a cheap one)."""
    member = _join(email="  Reader.One@Example.COM ")

    assert member.email == "reader.one@example.com"
    assert member.password_hash != GOOD_PASSWORD
    assert member.password_hash.startswith("scrypt:")
    assert check_password_hash(member.password_hash, GOOD_PASSWORD)
    assert member.role == Role.MEMBER
    assert member.tier_code == "regular"
    assert member.joined_at is not None


def test_a_new_member_gets_a_readable_member_number_from_the_join_year_and_id(ctx):
    member = _join()

    assert member.member_no == f"M{member.joined_at.year}-{member.id:06d}"
    assert re.fullmatch(r"M\d{4}-\d{6}", member.member_no)


def test_member_numbers_are_unique(ctx):
    numbers = {_join(email=f"reader{i}@example.com").member_no for i in range(5)}
    db.session.commit()

    assert len(numbers) == 5
    stored = db.session.scalars(sa.select(Member.member_no)).all()
    assert len(stored) == len(set(stored)) == 5


@pytest.mark.parametrize(
    "second", ["reader@example.com", "READER@example.com", " Reader@Example.Com "]
)
def test_an_email_can_join_only_once_in_any_letter_case(ctx, second):
    _join(email="reader@example.com")

    assert members.register(second, "another good phrase", "Eve").member_id is not None

    assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 1
    assert _mail_kinds() == ["confirm_email", "join_attempt"]


def test_an_existing_mixed_case_address_still_blocks_a_new_registration(ctx):
    make_member(email="Old.Member@Example.com")

    assert members.register("old.member@example.com", GOOD_PASSWORD, "Eve").member_id

    assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 1
    assert _mail_kinds() == ["join_attempt"]


def test_the_cli_and_seed_path_still_refuses_a_taken_address(ctx):
    make_member(email="Old.Member@Example.com")

    with pytest.raises(members.EmailTaken):
        members.create_member("old.member@example.com", GOOD_PASSWORD, "Eve")


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "not-an-email",
        "a@b",
        "two@@example.com",
        "x" * 250 + "@example.com",
        "someone@localhost",
    ],
)
def test_a_malformed_email_is_refused(ctx, email):
    with pytest.raises(members.InvalidEmail):
        _join(email=email)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 10"),
        ("123456789012", "digits"),
        ("reader@example.com", "email"),
        ("READER@EXAMPLE.COM", "email"),
        ("x" * 129, "at most 128"),
    ],
)
def test_a_weak_password_is_refused_with_a_clear_reason(ctx, password, reason):
    with pytest.raises(members.WeakPassword) as refused:
        _join(email="reader@example.com", password=password)

    assert reason in refused.value.message.lower()
    assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 0


def test_the_password_rules_follow_the_configured_minimum_length(ctx):
    ctx.config["PASSWORD_MIN_LENGTH"] = 16

    with pytest.raises(members.WeakPassword):
        _join(password="fifteen chars!!")
    assert "16" in members.password_rules()


def test_a_password_of_exactly_the_minimum_length_is_accepted(ctx):
    member = _join(password="abcdefghi1")

    assert member.id is not None


@pytest.mark.parametrize("name", ["", "   ", "n" * 121])
def test_a_member_needs_a_name_of_sensible_length(ctx, name):
    with pytest.raises(InvalidInput):
        _join(name=name)


def test_create_member_can_make_staff_and_admins(ctx):
    admin = members.create_member("boss@example.com", GOOD_PASSWORD, "Boss", role=Role.ADMIN)

    assert admin.role == Role.ADMIN
    assert admin.is_staff
    assert admin.member_no.startswith("M")


def test_demo_addresses_on_the_reserved_test_domain_may_join(ctx):
    member = members.create_member("demo@bookstation.test", GOOD_PASSWORD, "Demo")

    assert member.email == "demo@bookstation.test"


# --------------------------------------------------------------------------- signing in


def test_the_right_password_authenticates_and_starting_the_session_records_the_login_time(ctx):
    joined = _join()

    member = members.authenticate("  READER@example.com", GOOD_PASSWORD)
    assert member is joined
    assert member.last_login_at is None  # authenticating writes nothing (see sessions.start)

    sessions.start(member, "Firefox")
    assert member.last_login_at is not None


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("reader@example.com", "wrong password!"),
        ("nobody@example.com", GOOD_PASSWORD),
        ("", ""),
        ("reader@example.com", GOOD_PASSWORD + "x" * 500),
    ],
)
def test_wrong_credentials_authenticate_nobody(ctx, email, password):
    _join()

    assert members.authenticate(email, password) is None


def test_an_unknown_email_still_costs_a_password_hash_check(ctx, monkeypatch):
    checked: list[str] = []
    real_check = members.check_password_hash
    monkeypatch.setattr(
        members, "check_password_hash", lambda h, p: checked.append(h) or real_check(h, p)
    )

    assert members.authenticate("nobody@example.com", GOOD_PASSWORD) is None
    assert len(checked) == 1
    # by the same method (and so the same cost) as a member's own hash
    member = _join()
    assert checked[0].split("$")[0] == member.password_hash.split("$")[0]


def test_an_inactive_account_cannot_log_in(ctx):
    member = _join()
    member.is_active_account = False

    assert members.authenticate("reader@example.com", GOOD_PASSWORD) is None


# --------------------------------------------------------------------------- profile


def test_updating_the_profile_saves_trimmed_values_and_clears_blanks(ctx):
    member = _join()
    member.city = "Old town"

    members.update_profile(
        member,
        name="  Ada   Lovelace ",
        phone=" +86 10 1234 5678 ",
        address_line1="1 Book Street",
        address_line2="",
        city="   ",
        region="Beijing",
        postcode="100000",
        country="China",
    )
    db.session.commit()

    stored = db.session.get(Member, member.id)
    assert stored.name == "Ada Lovelace"
    assert stored.phone == "+86 10 1234 5678"
    assert stored.address_line1 == "1 Book Street"
    assert stored.address_line2 is None
    assert stored.city is None
    assert stored.country == "China"


def test_an_over_long_profile_field_changes_nothing(ctx):
    member = _join()

    with pytest.raises(InvalidInput):
        members.update_profile(member, name="New name", postcode="1" * 21)

    assert member.name == "Ada"
    assert member.postcode is None


# --------------------------------------------------------------------------- changing password


def test_changing_the_password_rotates_the_auth_token(ctx):
    member = _join()
    old_token = member.auth_token

    members.change_password(member, GOOD_PASSWORD, "another good phrase")

    assert member.auth_token != old_token
    assert members.authenticate("reader@example.com", "another good phrase") is member
    assert members.authenticate("reader@example.com", GOOD_PASSWORD) is None


def test_changing_the_password_needs_the_current_one(ctx):
    member = _join()
    old_token = member.auth_token

    with pytest.raises(members.WrongPassword):
        members.change_password(member, "not my password", "another good phrase")

    assert member.auth_token == old_token


@pytest.mark.parametrize("new", ["short", "12345678901", "reader@example.com", GOOD_PASSWORD])
def test_the_new_password_must_follow_the_rules_and_differ(ctx, new):
    member = _join()

    with pytest.raises(members.WeakPassword):
        members.change_password(member, GOOD_PASSWORD, new)


# --------------------------------------------------------------------------- reset links


def test_a_reset_token_leads_back_to_its_member(ctx):
    member = _join()

    token = members.make_reset_token(member)

    assert members.member_for_reset_token(token) is member


def _clock_at(monkeypatch, offset_seconds: int) -> None:
    """Move itsdangerous's clock (only) by `offset_seconds`."""
    now = time.time() + offset_seconds
    monkeypatch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: now))


def test_a_reset_token_still_works_just_before_it_expires(ctx, monkeypatch):
    member = _join()
    token = members.make_reset_token(member)

    _clock_at(monkeypatch, ctx.config["PASSWORD_RESET_MAX_AGE"] - 5)

    assert members.member_for_reset_token(token) is member


def test_a_reset_token_expires_after_the_configured_age(ctx, monkeypatch):
    member = _join()
    token = members.make_reset_token(member)

    _clock_at(monkeypatch, ctx.config["PASSWORD_RESET_MAX_AGE"] + 5)

    assert members.member_for_reset_token(token) is None
    with pytest.raises(members.InvalidResetToken):
        members.reset_password(token, "another good phrase")


def test_a_reset_token_dies_once_used(ctx):
    member = _join()
    token = members.make_reset_token(member)

    members.reset_password(token, "another good phrase")

    assert members.member_for_reset_token(token) is None
    with pytest.raises(members.InvalidResetToken):
        members.reset_password(token, "yet another phrase")
    assert members.authenticate("reader@example.com", "another good phrase") is member


def test_a_reset_token_dies_when_the_password_is_changed_another_way(ctx):
    member = _join()
    token = members.make_reset_token(member)

    members.change_password(member, GOOD_PASSWORD, "another good phrase")

    assert members.member_for_reset_token(token) is None


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 5000])
def test_a_forged_or_garbled_token_finds_nobody(ctx, token):
    _join()

    assert members.member_for_reset_token(token) is None


def test_a_token_signed_with_another_key_finds_nobody(ctx):
    member = _join()
    token = members.make_reset_token(member)

    ctx.config["SECRET_KEY"] = "a different secret"

    assert members.member_for_reset_token(token) is None


def test_resetting_refuses_a_weak_password_and_keeps_the_link_alive(ctx):
    member = _join()
    token = members.make_reset_token(member)

    with pytest.raises(members.WeakPassword):
        members.reset_password(token, "123")

    assert members.member_for_reset_token(token) is member


def test_resetting_rotates_the_auth_token(ctx):
    member = _join()
    old_token = member.auth_token

    members.reset_password(members.make_reset_token(member), "another good phrase")

    assert member.auth_token != old_token


def test_asking_for_a_reset_queues_one_mail_with_the_link(ctx):
    member = _join()

    mail = members.request_password_reset("  READER@example.com ")

    assert mail.kind == "password_reset"
    assert mail.to_email == "reader@example.com"
    assert mail.member_id == member.id
    link = re.search(r"http://localhost/account/reset/(\S+)", mail.body_text)
    assert link is not None
    assert members.member_for_reset_token(link.group(1)) is member


@pytest.mark.parametrize("email", ["", "not an email"])
def test_asking_for_a_reset_for_something_that_is_not_an_address_queues_nothing(ctx, email):
    _join()

    assert members.request_password_reset(email) is None
    assert _mail_kinds() == ["confirm_email"]


def test_asking_for_a_reset_for_an_unknown_address_queues_a_notice_without_a_link(ctx):
    _join()

    notice = members.request_password_reset("nobody@example.com")

    assert notice.kind == "password_reset_unknown" and notice.to_email == "nobody@example.com"
    assert "/account/reset/" not in notice.body_text


def test_an_inactive_account_gets_no_reset_link(ctx):
    member = _join()
    member.is_active_account = False

    assert members.request_password_reset("reader@example.com").kind == "password_reset_unknown"
