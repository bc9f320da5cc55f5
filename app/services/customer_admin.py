"""Staff actions on a customer record (issue 4), each audited with before/after snapshots.

Staff may edit contact details, deactivate or reactivate an account and send a password reset
link, for customers (role `member`); the accounts of staff and admins are changed by admins
only. Admins alone change roles, export a member's data and erase a member on request.
Flushes, never commits; errors carry a user-safe message.

Erasure anonymises the person and keeps the order rows and amounts for the accounts: see
`erase_member`. Other features holding personal data add their part with
`register_erasure_hook(fn)` (fn(member, placeholder_email) runs inside the same transaction).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.security import generate_password_hash

from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.models import (
    AuditEntry,
    Cart,
    Demand,
    DemandStatus,
    Interaction,
    MailStatus,
    Member,
    MemberTag,
    OutboxMail,
    Role,
)
from app.models.member import new_auth_token
from app.models.order import Order
from app.services import audit, sessions
from app.services import members as member_rules
from app.services.customer_tags import tag_names

CONTACT_FIELDS = ("name", "email", "phone", "address_line1", "address_line2", "city",
                  "region", "postcode", "country")
PERSONAL_FIELDS = (*CONTACT_FIELDS, "locale", "mail_opt_in", "stock_alerts_opt_in")
ERASED_NAME = "Erased member"
ERASED_TEXT = "[erased]"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never deliverable


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


def _require_admin(actor: Member) -> None:
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
    member_rules.update_profile(member, name=name, phone=phone, address_line1=address_line1,
                                address_line2=address_line2, city=city, region=region,
                                postcode=postcode, country=country)
    member.email = new_email
    try:
        db.session.flush()
    except IntegrityError as exc:  # taken between our check and the update
        raise member_rules.EmailTaken(
            _("Another account already uses that email address.")) from exc
    audit.record(actor, "customer.update", member, before=before,
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
    audit.record(actor, "customer.deactivate", member, before={"is_active_account": True},
                 after={"is_active_account": False}, summary="Account deactivated")
    return member


def reactivate(member: Member, actor: Member) -> Member:
    _check(actor, member)
    if member.is_active_account:
        return member
    member.is_active_account = True
    db.session.flush()
    audit.record(actor, "customer.reactivate", member, before={"is_active_account": False},
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
    audit.record(actor, "customer.password_reset", member, after={"mail_id": mail.id},
                 summary="Password reset link sent")
    return mail


def change_role(member: Member, new_role: Role | str, actor: Member) -> Member:
    """Admins only. An admin cannot change their own role, and the last admin stays one."""
    _require_admin(actor)
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
    before = {"role": member.role.value}
    member.role = role
    db.session.flush()
    audit.record(actor, "customer.role", member, before=before, after={"role": role.value},
                 summary=f"Role changed to {role.value}")
    return member


# --------------------------------------------------------------------------- data export


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def member_data(member: Member) -> dict:
    """Everything the shop holds about the member, for a subject access request (JSON-safe)."""
    orders = db.session.scalars(
        sa.select(Order).where(Order.member_id == member.id)
        .options(selectinload(Order.lines)).order_by(Order.placed_at, Order.id)
    ).all()
    demands = db.session.scalars(
        sa.select(Demand).where(Demand.member_id == member.id)
        .options(selectinload(Demand.book)).order_by(Demand.created_at, Demand.id)
    ).all()
    interactions = db.session.scalars(
        sa.select(Interaction).where(Interaction.member_id == member.id)
        .order_by(Interaction.created_at, Interaction.id)
    ).all()
    profile = audit.snapshot(member, ("member_no", *PERSONAL_FIELDS, "role", "tier_code",
                                      "joined_at", "last_login_at", "is_active_account",
                                      "order_count", "lifetime_spend", "last_order_at"))
    return {
        "profile": profile,
        "tags": tag_names(member),
        "orders": [{
            "number": o.number, "status": o.status.value, "placed_at": _when(o.placed_at),
            "email": o.email, "ship_name": o.ship_name, "ship_line1": o.ship_line1,
            "ship_line2": o.ship_line2, "ship_city": o.ship_city, "ship_region": o.ship_region,
            "ship_postcode": o.ship_postcode, "ship_country": o.ship_country,
            "ship_phone": o.ship_phone, "note": o.note, "subtotal": str(o.subtotal),
            "discount_total": str(o.discount_total), "shipping_fee": str(o.shipping_fee),
            "total": str(o.total),
            "lines": [{"title": li.title, "authors": li.authors, "quantity": li.quantity,
                       "unit_price": str(li.unit_price), "line_total": str(li.line_total)}
                      for li in o.lines],
        } for o in orders],
        "demands": [{
            "title": d.display_title, "quantity": d.quantity, "status": d.status.value,
            "note": d.note, "created_at": _when(d.created_at),
        } for d in demands],
        "interactions": [{
            "kind": i.kind.value, "text": i.body, "created_at": _when(i.created_at),
            "follow_up_on": i.follow_up_on.isoformat() if i.follow_up_on else None,
        } for i in interactions],
    }


def member_data_rows(data: dict) -> Iterator[list[object]]:
    """The same data as CSV rows: one section after another, each with its own header."""
    yield ["section", "field", "value"]
    for key, value in data["profile"].items():
        yield ["profile", key, value]
    yield ["profile", "tags", ", ".join(data["tags"])]
    yield []
    yield ["orders", "number", "status", "placed_at", "total", "title", "quantity",
           "unit_price", "line_total"]
    for order in data["orders"]:
        for line in order["lines"] or [{}]:
            yield ["orders", order["number"], order["status"], order["placed_at"],
                   order["total"], line.get("title"), line.get("quantity"),
                   line.get("unit_price"), line.get("line_total")]
    yield []
    yield ["demands", "title", "quantity", "status", "created_at", "note"]
    for demand in data["demands"]:
        yield ["demands", demand["title"], demand["quantity"], demand["status"],
               demand["created_at"], demand["note"]]
    yield []
    yield ["interactions", "kind", "created_at", "follow_up_on", "text"]
    for item in data["interactions"]:
        yield ["interactions", item["kind"], item["created_at"], item["follow_up_on"],
               item["text"]]


def record_export(member: Member, actor: Member, fmt: str) -> None:
    _require_admin(actor)
    audit.record(actor, "customer.export", member, after={"format": fmt},
                 summary=f"Personal data exported as {fmt.upper()}")


# --------------------------------------------------------------------------- erasure

_ERASURE_HOOKS: list[Callable[[Member, str], None]] = []


def register_erasure_hook(hook: Callable[[Member, str], None]) -> None:
    """`hook(member, placeholder_email)` scrubs another feature's personal data of the member
    (called by `erase_member`, before the member row itself is anonymised)."""
    if hook not in _ERASURE_HOOKS:
        _ERASURE_HOOKS.append(hook)


def erased_email(member: Member) -> str:
    return f"erased-{member.id}@{ERASED_DOMAIN}"


def _scrub(value: dict | None) -> dict | None:
    if not value:
        return value
    return {k: (ERASED_TEXT if k in PERSONAL_FIELDS and v not in (None, True, False) else v)
            for k, v in value.items()}


def erase_member(member: Member, actor: Member) -> Member:
    """Anonymise the person on request; irreversible. Admins only; customers only (a member of
    staff is first made a member).

    - the account: name, email (a unique address at erased.invalid), phone, address, language
      and mail choices are wiped; the password and sessions stop working; it is deactivated
      and marked `erased_at`, so it can never be reactivated;
    - orders stay with their lines and amounts for the accounts, but the email, shipping name,
      street, phone and the customer's note are replaced (city and country are kept);
    - open demands are cancelled (held copies go to the next reader at once) and their notes
      wiped; demands left as a visitor with the same address are cancelled and re-addressed;
    - the cart and tags are removed; staff notes keep their type and dates, not their text;
    - outbox mails to them lose their address, subject and body; unsent ones are cancelled;
    - personal values in audit entries about them are replaced.
    """
    _require_admin(actor)
    if member.erased_at is not None:
        raise AccountErased(_("This account was already erased."))
    if member.role is not Role.MEMBER:
        raise NotAllowed(_("Make this person a member (not staff) before erasing the account."))
    from app.services import demand as demand_rules
    from app.services import holds

    old_email = member.email
    placeholder = erased_email(member)
    now = utcnow()

    for demand in db.session.scalars(
        sa.select(Demand).where(Demand.member_id == member.id,
                                Demand.status.in_((DemandStatus.OPEN, DemandStatus.NOTIFIED)))
    ).all():
        demand_rules.cancel_demand(member, demand.id)
    for demand in db.session.scalars(
        sa.select(Demand).where(Demand.member_id.is_(None),
                                sa.func.lower(Demand.email) == old_email.lower())
    ).all():
        if demand.status in (DemandStatus.OPEN, DemandStatus.NOTIFIED):
            demand.status = DemandStatus.CANCELLED
            demand.cancelled_at = now
            demand.open_key = None
            db.session.flush()
            holds.release_for_demand(demand, now)
        demand.email = placeholder
        demand.note = None
        demand.confirm_token_hash = None
    db.session.execute(sa.update(Demand).where(Demand.member_id == member.id)
                       .values(note=None).execution_options(synchronize_session=False))

    db.session.execute(
        sa.update(Order).where(Order.member_id == member.id)
        .values(email=placeholder, ship_name=ERASED_NAME, ship_line1=ERASED_TEXT,
                ship_line2=None, ship_region=None, ship_postcode=ERASED_TEXT, ship_phone=None,
                note=None)
        .execution_options(synchronize_session=False))
    mail_of_member = sa.or_(OutboxMail.member_id == member.id,
                            sa.func.lower(OutboxMail.to_email) == old_email.lower())
    db.session.execute(
        sa.update(OutboxMail).where(mail_of_member, OutboxMail.status == MailStatus.PENDING)
        .values(status=MailStatus.CANCELLED).execution_options(synchronize_session=False))
    db.session.execute(
        sa.update(OutboxMail).where(mail_of_member)
        .values(to_email=placeholder, subject=ERASED_TEXT, body_text=ERASED_TEXT,
                body_html=None, headers={}, last_error=None)
        .execution_options(synchronize_session=False))
    db.session.execute(sa.delete(MemberTag).where(MemberTag.member_id == member.id))
    cart = db.session.scalar(sa.select(Cart).where(Cart.member_id == member.id))
    if cart is not None:
        db.session.delete(cart)
    db.session.execute(
        sa.update(Interaction).where(Interaction.member_id == member.id)
        .values(body=ERASED_TEXT).execution_options(synchronize_session=False))
    for entry in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.target_type == "member",
                                    AuditEntry.target_id == member.id)
    ):
        entry.before, entry.after = _scrub(entry.before), _scrub(entry.after)
    for hook in _ERASURE_HOOKS:
        hook(member, placeholder)

    member.name = ERASED_NAME
    member.email = placeholder
    member.phone = None
    for key in ("address_line1", "address_line2", "city", "region", "postcode", "country",
                "locale", "last_login_at"):
        setattr(member, key, None)
    member.mail_opt_in = False
    member.stock_alerts_opt_in = False
    member.password_hash = generate_password_hash(secrets.token_urlsafe(32))
    member.auth_token = new_auth_token()
    sessions.end_all(member)
    member.is_active_account = False
    member.erased_at = now
    db.session.flush()
    db.session.expire_all()
    audit.record(actor, "customer.erase", target_type="member", target_id=member.id,
                 summary="Personal data erased on request")
    return member
