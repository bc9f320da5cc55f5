"""Members: shoppers with an account, and the staff who run the shop."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, query_expression, validates

from app.core.db import utcnow
from app.core.extensions import db


class Role(enum.StrEnum):
    MEMBER = "member"
    STAFF = "staff"
    ADMIN = "admin"


_ROLE_RANK = {Role.MEMBER: 0, Role.STAFF: 1, Role.ADMIN: 2}


def role_includes(role: Role | str, other: Role | str) -> bool:
    """Whether an account with `role` may do what `other` may (admin > staff > member)."""
    return _ROLE_RANK[Role(role)] >= _ROLE_RANK[Role(other)]

# Erasure (app.crm.erasure) gives the person's account, orders and mails a unique address
# at this domain (RFC 2606: never deliverable); nothing is ever sent to it again.
ERASED_EMAIL_DOMAIN = "erased.invalid"


def is_erased_address(email: str | None) -> bool:
    """Whether `email` is the placeholder an erasure left (app.crm.erasure)."""
    return bool(email) and email.lower().endswith(f"@{ERASED_EMAIL_DOMAIN}")


def new_auth_token() -> str:
    return secrets.token_urlsafe(24)


def new_session_key() -> str:
    return secrets.token_urlsafe(32)


def phone_key(phone: str | None) -> str | None:
    """The digits of a phone number, last first ("+86 138-0013" -> "31008368"), or None."""
    digits = "".join(ch for ch in phone or "" if ch.isascii() and ch.isdigit())
    return digits[::-1][:40] or None


class Member(UserMixin, db.Model):
    """A person with an account. Staff and admins are members with a higher role."""

    # CRM list: sorting and filtering 100,000 customers goes through these.
    # (PostgreSQL also gets ix_member_last_order_desc from
    # app.catalog.search_index.install_members.)
    __table_args__ = (
        sa.Index("ix_member_name", "name", "id"),
        sa.Index("ix_member_joined_at", "joined_at", "id"),
        sa.Index("ix_member_last_order_at", "last_order_at", "id"),
        sa.Index("ix_member_lifetime_spend", "lifetime_spend", "id"),
        sa.Index("ix_member_tier_code", "tier_code"),
        sa.Index("ix_member_mail_opt_in", "mail_opt_in"),
        sa.Index("ix_member_stock_alerts_opt_in", "stock_alerts_opt_in"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=Role.MEMBER,
    )
    # Readable and unique, e.g. M2026-000123; stamped from the id when the member is created.
    member_no: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    tier_code: Mapped[str] = mapped_column(sa.String(32), default="regular")
    # Member grades (app.grades): the spend that earns the grade (denormalised,
    # rebuilt by `flask tiers recompute`), when the grade was reached, and whether an admin set
    # it by hand (then automatic re-grading never lowers it; see app.grades.staff_grades).
    qualifying_spend: Mapped[Decimal] = mapped_column(default=Decimal("0.00"), server_default="0")
    tier_since: Mapped[datetime | None]
    tier_is_manual: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_active_account: Mapped[bool] = mapped_column(default=True)
    mail_opt_in: Mapped[bool] = mapped_column(default=True)
    # Demand: stock-arrival mails for the member's demand list; off after an
    # unsubscribe link or on the mail preferences page (app.demand.unsubscribe).
    stock_alerts_opt_in: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    last_login_at: Mapped[datetime | None]
    # When the address was proven: the link mailed at registration creates the
    # member with it set; `flask create-admin` and the seed vouch for theirs; members from
    # before the column count from the day they joined. Visitor demand joins only such a one.
    email_verified_at: Mapped[datetime | None]
    # Rotated when the password changes: logs out every other session and kills reset links.
    auth_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_auth_token)

    # CRM (app.crm.customers): the phone's digits reversed, so a b-tree finds a
    # number by its last digits whatever the prefix (set with `phone`, see `_phone_key`); the
    # order figures, kept by `app.crm.customers` (checkout, payment, cancellation, seed):
    # the orders not cancelled, the revenue of the paid ones (Order.revenue) and
    # the last order (over every order); and the time the member's personal data was erased
    # on request (the account can never be used again).
    phone_key: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    order_count: Mapped[int] = mapped_column(default=0, server_default="0")
    lifetime_spend: Mapped[Decimal] = mapped_column(default=Decimal("0.00"), server_default="0")
    last_order_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    # A member of staff an admin allowed to download the whole customer list (admins may
    # anyway); granted and revoked on the staff member's record, audited.
    may_export_customers: Mapped[bool] = mapped_column(default=False,
                                                       server_default=sa.false())

    address_line1: Mapped[str | None] = mapped_column(sa.String(200))
    address_line2: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    region: Mapped[str | None] = mapped_column(sa.String(100))
    postcode: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str | None] = mapped_column(sa.String(60))

    # Read with the member by the login loader on a GET (app.membership.login), else None:
    # the copies in the member's cart and the discount rate of their grade in the tier table.
    loaded_cart_count: Mapped[int | None] = query_expression()
    loaded_discount_rate: Mapped[Decimal | None] = query_expression()

    @validates("phone")
    def _phone_key(self, _key: str, value: str | None) -> str | None:
        self.phone_key = phone_key(value)
        return value

    def get_id(self) -> str:
        """The member's identity (UserMixin compares members with it)."""
        return self.auth_token

    def get_session_id(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie (its `id_attribute`):
        the signed-in session's key and the auth token. Logging out deletes the session's row,
        and rotating the token ends every session, so no copy of either cookie works after."""
        key = self.__dict__.get("session_key")
        if not key:
            raise RuntimeError("log members in through app.membership.sessions.start")
        return f"{key}.{self.auth_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.is_active_account

    def has_role(self, role: Role | str) -> bool:
        return role_includes(self.role, role)

    @property
    def is_staff(self) -> bool:
        return self.has_role(Role.STAFF)

    @hybrid_property
    def is_customer(self) -> bool:
        """A customer in every figure: an account with the role member whose personal data has
        not been erased. Staff and admins shop too, but they are not customers in any figure;
        an erased account is nobody's customer any more. In SQL too."""
        return self.role == Role.MEMBER and self.erased_at is None

    @is_customer.inplace.expression
    @classmethod
    def _is_customer_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.role == Role.MEMBER, cls.erased_at.is_(None))

    @property
    def has_address(self) -> bool:
        return bool(self.address_line1 and self.city and self.postcode and self.country)

    def __repr__(self) -> str:
        return f"<Member {self.member_no or self.id} {self.email}>"


class MemberSession(db.Model):
    """One signed-in browser: its key travels in the session and remember cookies
    (Member.get_session_id). Logging out deletes the row, so copies of those cookies stop
    working; the member sees the others on the sessions page and can end them."""

    __tablename__ = "member_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_session_key)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written at most once every SESSION_TOUCH_SECONDS (app.membership.login), not on every
    # request.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    def __repr__(self) -> str:
        return f"<MemberSession {self.id} of member {self.member_id}>"


class MemberSignIn(db.Model):
    """One sign-in: when, how (`way`: "password" on the login form, "join" on confirming the
    address) and on what kind of browser (`browser`: app.membership.sessions.browser_key, e.g.
    "Firefox/Linux", no version and no address). Written at login only (sessions.start), kept
    after logout, pruned after SIGN_IN_HISTORY_DAYS (sessions.prune_sign_ins). A remember
    cookie carries on a session already signed in: it writes none."""

    __tablename__ = "member_sign_in"
    __table_args__ = (sa.Index("ix_member_sign_in_member_at", "member_id", "signed_in_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"))
    signed_in_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    way: Mapped[str] = mapped_column(sa.String(16))
    browser: Mapped[str] = mapped_column(sa.String(40), default="")

    def __repr__(self) -> str:
        return f"<MemberSignIn {self.id} of member {self.member_id}>"


class JoinRequest(db.Model):
    """Someone asked to join with an address (app.membership.members.register).

    Every request (below the per-address mail cap) writes one row, whether the address is new
    or a member's, so the work (and time) does not tell them apart. A new address's row becomes
    a Member when the link mailed to it is followed and the password chosen at registration is
    typed (the token names the row and a fingerprint of its password hash); a
    member's address gets a "someone tried to join" mail instead (`member_id` set, no link).
    Rows older than EMAIL_CONFIRM_MAX_AGE are deleted by later requests.
    """

    __tablename__ = "join_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
