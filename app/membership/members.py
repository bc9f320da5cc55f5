"""Membership rules: joining, signing in, the profile, the password and its emailed reset.

Every function here flushes but never commits: the view or CLI command that calls it owns the
transaction. Messages on the errors raised are safe to show to the user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import cache
from types import SimpleNamespace

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.core.db import utcnow
from app.core.errors import DomainError, InvalidInput
from app.core.extensions import db
from app.core.signals import member_joined
from app.core.urls import external_url
from app.mail.models import OutboxMail
from app.mail.outbox import enqueue
from app.mail.rendering import unsaved_locale
from app.membership import sessions
from app.membership.models import JoinRequest, Member, Role, new_auth_token

PASSWORD_MAX_LENGTH = 128
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 120
RESET_SALT = "password-reset"
CONFIRM_SALT = "confirm-email"
# Mails anyone can have the shop send to any address they type (joining, forgotten password):
# capped per address (ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR) so the shop is no relay for spam.
ADDRESS_MAIL_KINDS = ("confirm_email", "join_attempt", "password_reset", "password_reset_unknown")

# Profile fields a member may edit, with the column's length limit.
PROFILE_LIMITS: dict[str, int] = {
    "name": NAME_MAX_LENGTH,
    "phone": 40,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postcode": 20,
    "country": 60,
}


class EmailTaken(DomainError):
    pass


class InvalidEmail(DomainError):
    pass


class WeakPassword(DomainError):
    pass


class WrongPassword(DomainError):
    pass


class InvalidResetToken(DomainError):
    pass


class InvalidConfirmToken(DomainError):
    pass




# --------------------------------------------------------------------------- rules


def normalise_email(email: str) -> str:
    """The canonical form of an address (trimmed, lower-cased), or InvalidEmail.

    Checked for shape only (no DNS: machines may be offline). The reserved `.test` names are
    accepted so demo and test accounts can exist; nothing real is ever delivered there.
    """
    email = (email or "").strip()
    if not email:
        raise InvalidEmail(_("Please enter your email address."))
    if len(email) > EMAIL_MAX_LENGTH:
        raise InvalidEmail(_("That email address is too long."))
    try:
        result = validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidEmail(_("Please enter a valid email address, like name@example.com.")) from exc
    return result.normalized.lower()


def password_rules() -> str:
    """The password rules in words, for the help text on every form that sets a password."""
    return _(
        "At least %(min)d characters (up to %(max)d), not only digits, and not your email "
        "address. A short phrase is easy to remember.",
        min=current_app.config["PASSWORD_MIN_LENGTH"],
        max=PASSWORD_MAX_LENGTH,
    )


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why `password` is not acceptable (a user-safe sentence), or None when it is."""
    password = password or ""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(min)d characters.", min=minimum)
    if len(password) > PASSWORD_MAX_LENGTH:
        return _("Use at most %(max)d characters.", max=PASSWORD_MAX_LENGTH)
    if password.isdigit():
        return _("Use more than digits: add a few letters or words.")
    if email and password.strip().lower() == email.strip().lower():
        return _("Your password must not be your email address.")
    return None


def check_password_strength(password: str, email: str | None = None) -> None:
    problem = password_problem(password, email)
    if problem is not None:
        raise WeakPassword(problem)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Please tell us your name."))
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(_("Your name can be at most %(max)d characters.", max=NAME_MAX_LENGTH))
    return name


def _email_key(email: str) -> str:
    """Lookup form of a typed address, without validation (login must not reveal rules)."""
    return (email or "").strip().lower()[:EMAIL_MAX_LENGTH]


def find_by_email(email: str) -> Member | None:
    key = _email_key(email)
    if not key:
        return None
    return db.session.scalar(sa.select(Member).where(sa.func.lower(Member.email) == key))


def _address_may_get_mail(address: str) -> bool:
    """Whether `address` (lower-cased) may get one more joining or reset mail this hour.

    The same count, and the same answer, whether or not the address is a member's: the cap
    tells nobody who is one.
    """
    since = utcnow() - timedelta(hours=1)
    sent = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMail).where(
            OutboxMail.created_at >= since,
            OutboxMail.kind.in_(ADDRESS_MAIL_KINDS),
            sa.func.lower(OutboxMail.to_email) == address,
        ))
    return sent < current_app.config["ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR"]


# --------------------------------------------------------------------------- joining


def create_member(email: str, password: str, name: str, role: Role = Role.MEMBER) -> Member:
    """A new account with a hashed password and a member number such as M2026-000123.

    Its address counts as confirmed: used by `flask create-admin` and the seed, where whoever
    runs them vouches for it (shoppers join through `register`). Raises InvalidEmail,
    EmailTaken (in any letter case), WeakPassword or InvalidInput. Flushes twice (the number
    needs the id).
    """
    email = normalise_email(email)
    name = _clean_name(name)
    check_password_strength(password, email)
    if find_by_email(email) is not None:
        raise EmailTaken(_("An account with that email address already exists."))
    try:
        return _insert_member(email, name, hash_password(password), Role(role),
                              verified_at=utcnow())
    except IntegrityError as exc:
        # Someone registered the same address between our check and this insert.
        raise EmailTaken(_("An account with that email address already exists.")) from exc


def _insert_member(email: str, name: str, password_hash: str, role: Role,
                   verified_at=None, locale: str | None = None) -> Member:
    member = Member(email=email, name=name, role=role, password_hash=password_hash,
                    joined_at=utcnow(), email_verified_at=verified_at, locale=locale)
    db.session.add(member)
    db.session.flush()
    member.member_no = f"M{member.joined_at.year}-{member.id:06d}"
    db.session.flush()
    return member


def register(email: str, password: str, name: str, *, next_url: str | None = None,
             locale: str | None = None) -> JoinRequest | None:
    """Someone asks to join with `email`; nothing they are told, and nothing in how long it
    takes, may depend on who is a member.

    Input is checked first (InvalidEmail, WeakPassword, InvalidInput: about what was typed,
    never about other accounts). Then the same work on every branch: the password is hashed,
    a few columns of a member with the address are looked up (never a whole Member: building
    one was time only that branch spent), one JoinRequest row is written (expired ones
    deleted) and one mail is rendered and queued:

    - a new address gets a link (`confirm_join`) that creates the member, confirmed, and logs
      them in; nothing exists before, so no one can squat an address or log in with it;
    - the address of an account (in any letter case) gets a mail saying someone tried to join
      with it, with links to log in or choose a new password; the account is not touched.

    Demand left as a visitor with the address joins the account when it is created.

    An address that had ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR joining or reset mails in the last
    hour gets no more (member or not): nothing is written or sent, the answer is the same, and
    None is returned. The confirmation mail does not repeat the typed name (a stranger could
    put a message to the address's owner there).
    """
    email = normalise_email(email)
    name = _clean_name(name)
    check_password_strength(password, email)
    now = utcnow()
    max_age = timedelta(seconds=current_app.config["EMAIL_CONFIRM_MAX_AGE"])
    db.session.execute(sa.delete(JoinRequest).where(JoinRequest.created_at < now - max_age))
    member = db.session.execute(
        sa.select(Member.id, Member.email, Member.name, Member.locale)
        .where(sa.func.lower(Member.email) == email)
    ).first()
    password_hash = hash_password(password)
    if not _address_may_get_mail(email):
        return None
    join_request = JoinRequest(email=email, name=name, password_hash=password_hash,
                               locale=locale, created_at=now,
                               member_id=member.id if member is not None else None)
    db.session.add(join_request)
    db.session.flush()
    if member is None:
        values = {"token": make_join_token(join_request)}
        if next_url:
            values["next"] = next_url
        enqueue(
            kind="confirm_email",
            to_email=email,
            template="confirm_email",
            context={
                "confirm_url": external_url("account.confirm", **values),
                "valid_hours": current_app.config["EMAIL_CONFIRM_MAX_AGE"] // 3600,
                "shop_name": current_app.config["SHOP_NAME"],
            },
            locale=locale or unsaved_locale(None),
        )
    else:
        # Signed like a confirmation link (and thrown away), so this branch costs what the
        # other does.
        make_join_token(join_request)
        enqueue(
            kind="join_attempt",
            to_email=member.email,
            template="join_attempt",
            context={
                "name": member.name,
                "login_url": external_url("account.login"),
                "forgot_url": external_url("account.forgot"),
                "shop_name": current_app.config["SHOP_NAME"],
            },
            member_id=member.id,
            locale=_language_of(member),
        )
    return join_request


def _join_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def _request_fingerprint(join_request: JoinRequest) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, join_request.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def make_join_token(join_request: JoinRequest) -> str:
    """A signed, expiring token for the link mailed to a new address: whoever holds it read
    that mail (EMAIL_CONFIRM_MAX_AGE)."""
    return _join_serializer().dumps({"j": join_request.id, "f": _request_fingerprint(join_request)})


def join_request_for_token(token: str) -> JoinRequest | None:
    """The request a confirmation link was made for, or None if it is forged, expired or used
    (the request is gone once its member exists)."""
    if not token or len(token) > 1000:
        return None
    try:
        payload = _join_serializer().loads(
            token, max_age=current_app.config["EMAIL_CONFIRM_MAX_AGE"])
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    request_id, fingerprint = payload.get("j"), payload.get("f")
    if not isinstance(request_id, int) or not isinstance(fingerprint, str):
        return None
    join_request = db.session.get(JoinRequest, request_id)
    if join_request is None or join_request.member_id is not None:
        return None
    if not hmac.compare_digest(_request_fingerprint(join_request), fingerprint):
        return None
    return join_request


def confirm_join(token: str, password: str) -> Member:
    """The address is proven: the member is created, confirmed, with the name, password and
    language of the request whose link was followed, and the demand they left as a visitor
    with the address joins the account. The address's other requests go.

    `password` must be the one chosen at registration (checked against the request's hash):
    the link alone proves only that the mail was read, not who asked to join, so without it
    anyone could join with someone else's address and have its owner open the account with
    the stranger's password (or be logged into the stranger's account).

    Raises InvalidConfirmToken for a bad, expired or used link, WrongPassword (nothing is
    created), EmailTaken if the address got an account meanwhile (another of its links was
    followed first).
    """
    join_request = join_request_for_token(token)
    if join_request is None:
        raise InvalidConfirmToken(_("This link is invalid or has expired."))
    password = password or ""
    if len(password) > PASSWORD_MAX_LENGTH or not check_password_hash(
            join_request.password_hash, password):
        raise WrongPassword(_("That is not the password chosen when joining. Please type the "
                              "password you chose on the join form."))
    if find_by_email(join_request.email) is not None:
        raise EmailTaken(_("This address is already confirmed. Please log in."))
    try:
        with db.session.begin_nested():
            member = _insert_member(join_request.email, join_request.name,
                                    join_request.password_hash, Role.MEMBER,
                                    verified_at=utcnow(), locale=join_request.locale)
    except IntegrityError as exc:  # the same link followed twice at once
        raise EmailTaken(_("This address is already confirmed. Please log in.")) from exc
    db.session.execute(sa.delete(JoinRequest).where(JoinRequest.email == join_request.email,
                                                    JoinRequest.member_id.is_(None)))
    member_joined.send(member)  # the demand they left as a visitor joins the account
    return member


# --------------------------------------------------------------------------- signing in


@cache
def _dummy_hash_for(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _dummy_hash() -> str:
    """A hash of nobody's password, by the configured method, so checking it costs what
    checking a member's does."""
    return _dummy_hash_for(current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(email: str, password: str) -> Member | None:
    """The member these credentials belong to, or None.

    A hash is checked even when no account matches, so an unknown address takes as long as a
    wrong password and the timing does not tell which emails are members. Inactive accounts are
    refused. Writes nothing: the login time is recorded when the session starts
    (`sessions.start`), after the visitor's cart has joined the member's, so a login locks the
    cart lines before the member row, in the same order as a checkout (no deadlock between a
    login and a checkout of the same member on PostgreSQL).
    """
    password = password or ""
    member = find_by_email(email)
    if member is None or len(password) > PASSWORD_MAX_LENGTH:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(member.password_hash, password):
        return None
    if not member.is_active_account:
        return None
    return member


# --------------------------------------------------------------------------- profile


def update_profile(
    member: Member,
    *,
    name: str,
    phone: str | None = None,
    address_line1: str | None = None,
    address_line2: str | None = None,
    city: str | None = None,
    region: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
) -> Member:
    """Save the member's name, phone and address (all but the name optional; blanks clear).

    The address prefills checkout. Raises InvalidInput for a missing name or over-long text,
    before anything is changed.
    """
    values = {
        "phone": phone,
        "address_line1": address_line1,
        "address_line2": address_line2,
        "city": city,
        "region": region,
        "postcode": postcode,
        "country": country,
    }
    cleaned: dict[str, str | None] = {"name": _clean_name(name)}
    for key, value in values.items():
        text = " ".join((value or "").split()) or None
        if text is not None and len(text) > PROFILE_LIMITS[key]:
            raise InvalidInput(
                _("That is too long (at most %(max)d characters).", max=PROFILE_LIMITS[key])
            )
        cleaned[key] = text
    for key, value in cleaned.items():
        setattr(member, key, value)
    db.session.flush()
    return member


# --------------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    """The stored form of `password`: Werkzeug's salted hash by the app's
    PASSWORD_HASH_METHOD (scrypt unless configured otherwise; see config.py). Every hash the
    shop writes is made here, so a login's check costs the same for every account."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _set_password(member: Member, password: str) -> None:
    """New hash and a new auth token: every other session and every reset link stops working."""
    member.password_hash = hash_password(password)
    member.auth_token = new_auth_token()


def change_password(member: Member, current: str, new: str,
                    keep_session: str | None = None) -> Member:
    """Replace the password after checking the current one.

    Rotates `auth_token` and ends every session but `keep_session` (the key of the one making
    the change); the caller must log that one in again (`login_user`) so it carries on under
    the new token. Raises WrongPassword or WeakPassword.
    """
    if not check_password_hash(member.password_hash, current or ""):
        raise WrongPassword(_("That is not your current password."))
    check_password_strength(new, member.email)
    if new == current:
        raise WeakPassword(_("Choose a password different from your current one."))
    _set_password(member, new)
    sessions.end_others(member, keep_session)
    db.session.flush()
    return member


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _fingerprint(member) -> str:
    """A keyed digest of the password hash: the token dies when the hash changes.

    Keyed so the (readable) token payload reveals nothing about the hash itself.
    """
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, member.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def make_reset_token(member) -> str:
    """A signed, expiring link token for this member's current password (a Member, or a row
    with its id and password_hash)."""
    return _serializer().dumps({"m": member.id, "f": _fingerprint(member)})


def member_for_reset_token(token: str) -> Member | None:
    """The member a reset token was made for, or None if it is forged, expired, used or stale.

    It expires after PASSWORD_RESET_MAX_AGE seconds, and dies once the password changes
    (including by using it), because it carries a fingerprint of the password hash.
    """
    if not token or len(token) > 1000:
        return None
    try:
        payload = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    member_id, fingerprint = payload.get("m"), payload.get("f")
    if not isinstance(member_id, int) or not isinstance(fingerprint, str):
        return None
    member = db.session.get(Member, member_id)
    if member is None or not member.is_active_account:
        return None
    if not hmac.compare_digest(_fingerprint(member), fingerprint):
        return None
    return member


_NO_MEMBER = SimpleNamespace(password_hash="scrypt:32768:8:1$no-member$0")


def request_password_reset(email: str) -> OutboxMail | None:
    """Queue a reset link if an active account has this address; otherwise a mail saying that
    no account has it (with a link to join).

    Both branches render and queue one mail, so neither the answer nor its time tells who is a
    member. Nothing is sent to an address that is not one, nor to one that had
    ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR joining or reset mails in the last hour (member or not;
    returns None). The mail goes out after the caller commits (outbox).
    """
    try:
        address = normalise_email(email)
    except InvalidEmail:
        address = None
    key = _email_key(email)
    # The few columns the mail needs, not a whole Member: building one (40-odd columns) was
    # work, and time, that only the member's branch spent.
    member = db.session.execute(
        sa.select(Member.id, Member.email, Member.name, Member.password_hash, Member.locale,
                  Member.is_active_account)
        .where(sa.func.lower(Member.email) == key)
    ).first() if key else None
    if key and not _address_may_get_mail(key):
        return None
    if member is None or not member.is_active_account:
        if address is None:
            return None  # not an address: nothing to send, and no member has it
        # Signed like a reset link (and thrown away), so this branch costs what the other does.
        _serializer().dumps({"m": 0, "f": _fingerprint(_NO_MEMBER)})
        return enqueue(
            kind="password_reset_unknown",
            to_email=address,
            template="password_reset_unknown",
            context={
                "join_url": external_url("account.register"),
                "forgot_url": external_url("account.forgot"),
                "shop_name": current_app.config["SHOP_NAME"],
            },
            locale=unsaved_locale(None),
        )
    token = make_reset_token(member)
    return enqueue(
        kind="password_reset",
        to_email=member.email,
        template="password_reset",
        context={
            "name": member.name,
            "reset_url": external_url("account.reset", token=token),
            "forgot_url": external_url("account.forgot"),
            "valid_minutes": current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
            "shop_name": current_app.config["SHOP_NAME"],
        },
        member_id=member.id,
        # The member's language is loaded already: no second look-up (it cost a query, and
        # time the other branch did not spend).
        locale=_language_of(member),
    )


def _language_of(member) -> str:
    """The language a mail to this member is written in (app.mail.rendering's rule), from the
    member already loaded."""
    if member.locale in current_app.config["LANGUAGES"]:
        return member.locale
    return unsaved_locale(member.id)


def reset_password(token: str, new_password: str) -> Member:
    """Set a new password through an emailed link; the link cannot be used again.

    Raises InvalidResetToken or WeakPassword. Rotates `auth_token` and ends every session.
    """
    member = member_for_reset_token(token)
    if member is None:
        raise InvalidResetToken(
            _("This reset link is invalid or has expired. Please ask for a new one.")
        )
    check_password_strength(new_password, member.email)
    _set_password(member, new_password)
    sessions.end_all(member)
    db.session.flush()
    return member
