"""Staff actions on a customer record, each audited with before/after snapshots.

Staff may edit contact details, deactivate or reactivate an account and send a password reset
link, for customers (role `member`); the accounts of staff and admins are changed by admins
only. Admins alone change roles and say which staff may download the customer list; they alone
export a member's data (app.crm.member_export) and erase a member on request
(app.crm.erasure). Flushes, never commits; errors carry a user-safe message.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.core import signals
from app.core.audit import record as audit
from app.core.errors import DomainError
from app.core.extensions import db
from app.mail.models import OutboxMail
from app.membership import members as member_rules
from app.membership import sessions
from app.membership.models import (
    Member,
    Role,
    new_auth_token,
)

CONTACT_FIELDS = ("name", "email", "phone", "address_line1", "address_line2", "city",
                  "region", "postcode", "country")
PERSONAL_FIELDS = (*CONTACT_FIELDS, "locale", "mail_opt_in", "stock_alerts_opt_in")


class NotAllowed(DomainError):
    pass


class AccountErased(DomainError):
    pass


# --------------------------------------------------------------------------- permissions


def can_manage(actor: Member, member: Member) -> bool:
    """Staff manage customers; the accounts of staff and admins are for admins."""
    if member.role is Role.MEMBER:
        return actor.has_role(Role.STAFF)
    return actor.has_role(Role.ADMIN)


def _check(actor: Member, member: Member) -> None:
    if member.erased_at is not None:
        raise AccountErased(_("This account was erased on request; it cannot be changed."))
    if not can_manage(actor, member):
        raise NotAllowed(_("Only an admin can change the account of a member of staff."))


def require_admin(actor: Member) -> None:
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed(_("Only an admin can do this."))


# --------------------------------------------------------------------------- contact details


def update_contact(member: Member, actor: Member, *, name: str, email: str,
                   phone: str | None = None, address_line1: str | None = None,
                   address_line2: str | None = None, city: str | None = None,
                   region: str | None = None, postcode: str | None = None,
                   country: str | None = None) -> Member:
    """Save the member's name, email, phone and address. Raises InvalidEmail, EmailTaken or
    InvalidInput (nothing is changed then)."""
    _check(actor, member)
    before = audit.snapshot(member, CONTACT_FIELDS)
    new_email = member_rules.normalise_email(email)
    if new_email != member.email:
        other = member_rules.find_by_email(new_email)
        if other is not None and other.id != member.id:
            raise member_rules.EmailTaken(_("Another account already uses that email address."))
    try:
        # In a savepoint: an address taken between the check above and this write is refused
        # by the unique index, and the session stays usable for the page that says so.
        with db.session.begin_nested():
            member_rules.update_profile(
                member, name=name, phone=phone, address_line1=address_line1,
                address_line2=address_line2, city=city, region=region, postcode=postcode,
                country=country)
            member.email = new_email
    except IntegrityError as exc:  # taken between our check and the update
        raise member_rules.EmailTaken(
            _("Another account already uses that email address.")) from exc
    audit.record(actor.id, actor.email, "customer.update", member, before=before,
                 after=audit.snapshot(member, CONTACT_FIELDS), summary="Contact details edited")
    return member


# --------------------------------------------------------------------------- the account


def deactivate(member: Member, actor: Member) -> Member:
    """The member can no longer log in, and every session of theirs ends now."""
    _check(actor, member)
    if member.id == actor.id:
        raise NotAllowed(_("You cannot deactivate your own account."))
    if not member.is_active_account:
        return member
    member.is_active_account = False
    member.auth_token = new_auth_token()
    sessions.end_all(member)
    db.session.flush()
    audit.record(actor.id, actor.email, "customer.deactivate", member,
                 before={"is_active_account": True},
                 after={"is_active_account": False}, summary="Account deactivated")
    return member


def reactivate(member: Member, actor: Member) -> Member:
    _check(actor, member)
    if member.is_active_account:
        return member
    member.is_active_account = True
    db.session.flush()
    audit.record(actor.id, actor.email, "customer.reactivate", member,
                 before={"is_active_account": False},
                 after={"is_active_account": True}, summary="Account reactivated")
    return member


def send_password_reset(member: Member, actor: Member) -> OutboxMail:
    """Queue the account's usual reset-link mail (sent after the caller commits)."""
    _check(actor, member)
    if not member.is_active_account:
        raise NotAllowed(_("The account is deactivated: reactivate it first."))
    mail = member_rules.request_password_reset(member.email)
    if mail is None:  # pragma: no cover - the checks above cover what makes it refuse
        raise NotAllowed(_("No reset link can be sent to this account."))
    audit.record(actor.id, actor.email, "customer.password_reset", member,
                 after={"mail_id": mail.id}, summary="Password reset link sent")
    return mail


def change_role(member: Member, new_role: Role | str, actor: Member) -> Member:
    """Admins only. An admin cannot change their own role, and the last admin stays one."""
    require_admin(actor)
    try:
        role = Role(new_role)
    except ValueError:
        raise DomainError(_("Choose member, staff or admin.")) from None
    if member.erased_at is not None:
        raise AccountErased(_("This account was erased on request; it cannot be changed."))
    if member.id == actor.id:
        raise NotAllowed(_("You cannot change your own role; ask another admin."))
    if role is member.role:
        return member
    if member.role is Role.ADMIN:
        # Lock the admins' rows so two admins demoting each other cannot both succeed.
        admins = db.session.scalars(
            sa.select(Member.id).where(Member.role == Role.ADMIN,
                                       Member.is_active_account.is_(True))
            .order_by(Member.id).with_for_update()
        ).all()
        db.session.refresh(actor, ["role", "is_active_account"])
        if not actor.has_role(Role.ADMIN) or not actor.is_active_account:
            raise NotAllowed(_("Only an admin can do this."))
        if not [i for i in admins if i != member.id]:
            raise NotAllowed(_("The shop needs at least one admin."))
    before = {"role": member.role.value, "may_export_customers": member.may_export_customers}
    member.role = role
    # A grant is given to a member of staff, not to an account: any role change ends it, so
    # someone made staff again does not silently regain the customer list export.
    member.may_export_customers = False
    db.session.flush()
    audit.record(actor.id, actor.email, "customer.role", member, before=before,
                 after={"role": role.value, "may_export_customers": False},
                 summary=f"Role changed to {role.value}")
    # The API revokes tokens carrying scopes the new role may not hold.
    signals.member_role_changed.send(member, previous=Role(before["role"]), actor=actor)
    return member


# --------------------------------------------------------------------------- the customer list


def may_export_customer_list(actor: Member) -> bool:
    """Admins, and staff an admin allowed (`set_export_permission`), may download the whole
    customer list (names, emails, phones, addresses)."""
    if actor.has_role(Role.ADMIN):
        return True
    return actor.has_role(Role.STAFF) and actor.may_export_customers and actor.is_active_account


def set_export_permission(member: Member, actor: Member, allowed: bool) -> Member:
    """Admins only: allow a member of staff to download the customer list, or stop them."""
    require_admin(actor)
    if member.erased_at is not None:
        raise AccountErased(_("This account was erased on request; it cannot be changed."))
    if allowed and member.role is not Role.STAFF:
        raise NotAllowed(_("Only a member of staff can be allowed to export the customer "
                           "list (admins always may)."))
    if member.may_export_customers == allowed:
        return member
    member.may_export_customers = allowed
    db.session.flush()
    audit.record(actor.id, actor.email, "customer.export_permission", member,
                 before={"may_export_customers": not allowed},
                 after={"may_export_customers": allowed},
                 summary="Customer list export allowed" if allowed
                 else "Customer list export no longer allowed")
    return member


def record_list_export(actor: Member, filters: dict, rows: int) -> None:
    """Audit one download of the customer list: who, when (the entry's time), with which
    filters and how many customers it held."""
    if not may_export_customer_list(actor):
        raise NotAllowed(_("You are not allowed to export the customer list."))
    audit.record(actor.id, actor.email, "customer.list_export", target_type="customer_list",
                 after={"filters": filters, "rows": rows},
                 summary=f"Customer list exported: {rows} row(s)")


def record_orders_export(actor: Member, filters: dict, rows: int) -> None:
    """Audit one download of the orders list (each order's email, name, city and country):
    the same people as the customer list may download it (`may_export_customer_list`)."""
    if not may_export_customer_list(actor):
        raise NotAllowed(_("You are not allowed to export the customer list."))
    audit.record(actor.id, actor.email, "order.list_export", target_type="order_list",
                 after={"filters": filters, "rows": rows},
                 summary=f"Orders exported: {rows} row(s)")
