"""Staff actions on a customer record, each audited with before/after snapshots.

Staff may edit contact details, deactivate or reactivate an account and send a password reset
link, for customers (role `member`); the accounts of staff and admins are changed by admins
only. Admins alone change roles, export a member's data and erase a member on request.
Flushes, never commits; errors carry a user-safe message.

Erasure anonymises the person and keeps the order rows and amounts for the accounts: see
`erase_member`. The parts held by features below the CRM are added with
`register_erasure_hook(fn)` from the CRM's `init_app` (fn(member, placeholder_email) runs inside
the same transaction).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.security import generate_password_hash

from app.core.audit import record as audit
from app.core.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.errors import DomainError
from app.core.exports import Text
from app.core.extensions import db
from app.crm.models import Interaction, MemberTag
from app.crm.tags import tag_names
from app.demand.models import Demand, DemandStatus
from app.mail.models import MailStatus, OutboxMail
from app.membership import members as member_rules
from app.membership import sessions
from app.membership.models import (
    ERASED_EMAIL_DOMAIN,
    JoinRequest,
    Member,
    MemberSession,
    Role,
    new_auth_token,
)
from app.ordering.models import Cart, Order

CONTACT_FIELDS = ("name", "email", "phone", "address_line1", "address_line2", "city",
                  "region", "postcode", "country")
PERSONAL_FIELDS = (*CONTACT_FIELDS, "locale", "mail_opt_in", "stock_alerts_opt_in")
ERASED_NAME = "Erased member"
ERASED_TEXT = "[erased]"
ERASED_DOMAIN = ERASED_EMAIL_DOMAIN


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
    before = {"role": member.role.value, "may_export_customers": member.may_export_customers}
    member.role = role
    # A grant is given to a member of staff, not to an account: any role change ends it, so
    # someone made staff again does not silently regain the customer list export.
    member.may_export_customers = False
    db.session.flush()
    audit.record(actor.id, actor.email, "customer.role", member, before=before,
                 after={"role": role.value, "may_export_customers": False},
                 summary=f"Role changed to {role.value}")
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
    _require_admin(actor)
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


# --------------------------------------------------------------------------- data export


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# What the subject access export holds, column by column: every column that points at a member
# (a foreign key to member.id, or a column named member_id or *email) is either exported, in the
# named section, or left out for the stated reason. tests/crm/test_member_data_export.py
# reads the schema and fails when a table holds such a column that neither list names.
EXPORT_COVERED = {
    "member.email": "profile",
    "member_tag.member_id": "tags",
    "orders.member_id": "orders",
    "orders.email": "orders",
    "cart.member_id": "cart",
    "demand.member_id": "demands",
    "demand.email": "demands",
    "interaction.member_id": "interactions",
    "review.member_id": "reviews",
    "survey_response.member_id": "survey_answers",
    "grade_change.member_id": "grade_history",
    "outbox_mail.member_id": "mails",
    "outbox_mail.to_email": "mails",
    "campaign_recipient.member_id": "campaigns",
    "analytics_member.member_id": "profiling",
    "member_sessions.member_id": "signed_in_sessions",
    "join_requests.member_id": "join_requests",
    "join_requests.email": "join_requests",
}
_STAFF_WORK = "the member of staff who did it: a record of staff work, not data about the customer"
EXPORT_EXCLUDED = {
    "analytics_run.requested_by_id": _STAFF_WORK,
    "audit_entry.actor_id": _STAFF_WORK + " (entries about the person are in account_history)",
    "campaign.created_by_id": _STAFF_WORK,
    "campaign.sent_by_id": _STAFF_WORK,
    "interaction.staff_id": _STAFF_WORK + " (the notes about the person are in interactions)",
    "interaction.follow_up_done_by_id": _STAFF_WORK,
    "member_tag.added_by_id": _STAFF_WORK,
    "stock_receipt.actor_id": _STAFF_WORK,
    "review.moderated_by_id": _STAFF_WORK + " (the decision and its note are in reviews)",
    "order_event.actor_id": _STAFF_WORK + " (the order's status history is in orders)",
    "grade_change.actor_id": _STAFF_WORK,
}
# Columns of the member row itself left out of the profile, and why.
PROFILE_EXCLUDED = {
    "id": "an internal row number (member_no is the member's number)",
    "password_hash": "a one-way hash of the password, which no one can read back",
    "auth_token": "a session secret; exporting it would let the file's reader log in",
    "phone_key": "the phone's digits reversed for searching: the phone itself is exported",
}


def member_data(member: Member) -> dict:
    """Everything the shop holds about the member, for a subject access request (JSON-safe):
    see EXPORT_COVERED for where each kind of record goes."""
    from app.analytics.models import AnalyticsRun, MemberSnapshot
    from app.campaigns.models import Campaign, CampaignRecipient
    from app.catalog.models import Book
    from app.feedback.models import Review, SurveyResponse
    from app.grades.models import GradeChange
    from app.ordering.models import CartLine, OrderEvent

    orders = db.session.scalars(
        sa.select(Order).where(Order.member_id == member.id)
        .options(selectinload(Order.lines)).order_by(Order.placed_at, Order.id)
    ).all()
    events: dict[int, list[OrderEvent]] = {}
    for event in db.session.scalars(
        sa.select(OrderEvent).join(Order, Order.id == OrderEvent.order_id)
        .where(Order.member_id == member.id).order_by(OrderEvent.at, OrderEvent.id)
    ):
        events.setdefault(event.order_id, []).append(event)
    email = member.email.lower()
    demands = db.session.scalars(
        sa.select(Demand).where(sa.or_(Demand.member_id == member.id,
                                       sa.func.lower(Demand.email) == email))
        .options(selectinload(Demand.book)).order_by(Demand.created_at, Demand.id)
    ).all()
    interactions = db.session.scalars(
        sa.select(Interaction).where(Interaction.member_id == member.id)
        .order_by(Interaction.created_at, Interaction.id)
    ).all()
    cart_lines = db.session.execute(
        sa.select(CartLine, Book.title).join(Cart, Cart.id == CartLine.cart_id)
        .join(Book, Book.id == CartLine.book_id)
        .where(Cart.member_id == member.id).order_by(CartLine.id)
    ).all()
    reviews = db.session.execute(
        sa.select(Review, Book.title).join(Book, Book.id == Review.book_id)
        .where(Review.member_id == member.id).order_by(Review.created_at, Review.id)
    ).all()
    answers = db.session.execute(
        sa.select(SurveyResponse, Order).join(Order, Order.id == SurveyResponse.order_id)
        .where(SurveyResponse.member_id == member.id)
        .order_by(SurveyResponse.created_at, SurveyResponse.id)
    ).all()
    grades = db.session.scalars(
        sa.select(GradeChange).where(GradeChange.member_id == member.id)
        .order_by(GradeChange.at, GradeChange.id)
    ).all()
    mails = db.session.scalars(
        sa.select(OutboxMail).where(sa.or_(OutboxMail.member_id == member.id,
                                           sa.func.lower(OutboxMail.to_email) == email))
        .order_by(OutboxMail.created_at, OutboxMail.id)
    ).all()
    campaigns = db.session.execute(
        sa.select(CampaignRecipient.group, Campaign)
        .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
        .where(CampaignRecipient.member_id == member.id).order_by(Campaign.id)
    ).all()
    profiling = db.session.execute(
        sa.select(MemberSnapshot, AnalyticsRun.as_of)
        .join(AnalyticsRun, AnalyticsRun.id == MemberSnapshot.run_id)
        .where(MemberSnapshot.member_id == member.id)
        .order_by(AnalyticsRun.as_of, AnalyticsRun.id)
    ).all()
    history = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.target_type == "member",
                                    AuditEntry.target_id == member.id)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    signed_in = db.session.scalars(
        sa.select(MemberSession).where(MemberSession.member_id == member.id)
        .order_by(MemberSession.created_at, MemberSession.id)
    ).all()
    joins = db.session.scalars(
        sa.select(JoinRequest).where(sa.or_(JoinRequest.member_id == member.id,
                                            sa.func.lower(JoinRequest.email) == email))
        .order_by(JoinRequest.created_at, JoinRequest.id)
    ).all()
    profile = audit.snapshot(member, [c.key for c in Member.__table__.columns
                                      if c.key not in PROFILE_EXCLUDED])
    return {
        "profile": profile,
        "tags": tag_names(member),
        "orders": [{
            "number": o.number, "status": o.status.value, "placed_at": _when(o.placed_at),
            "paid_at": _when(o.paid_at), "shipped_at": _when(o.shipped_at),
            "delivered_at": _when(o.delivered_at), "cancelled_at": _when(o.cancelled_at),
            "email": o.email, "ship_name": o.ship_name, "ship_line1": o.ship_line1,
            "ship_line2": o.ship_line2, "ship_city": o.ship_city, "ship_region": o.ship_region,
            "ship_postcode": o.ship_postcode, "ship_country": o.ship_country,
            "ship_phone": o.ship_phone, "note": o.note, "payment_method": o.payment_method,
            "tier_code": o.tier_code, "subtotal": str(o.subtotal),
            "discount_total": str(o.discount_total), "shipping_fee": str(o.shipping_fee),
            "total": str(o.total),
            "lines": [{"title": li.title, "authors": li.authors, "quantity": li.quantity,
                       "unit_price": str(li.unit_price), "line_total": str(li.line_total)}
                      for li in o.lines],
            "status_history": [{
                "at": _when(e.at), "from": e.from_status.value if e.from_status else None,
                "to": e.to_status.value, "note": e.note,
            } for e in events.get(o.id, [])],
        } for o in orders],
        "cart": [{"title": title, "quantity": line.quantity, "added_at": _when(line.added_at)}
                 for line, title in cart_lines],
        "demands": [{
            "title": d.display_title, "quantity": d.quantity, "status": d.status.value,
            "email": d.email, "note": d.note, "created_at": _when(d.created_at),
            "notified_at": _when(d.notified_at), "fulfilled_at": _when(d.fulfilled_at),
            "cancelled_at": _when(d.cancelled_at), "expired_at": _when(d.expired_at),
        } for d in demands],
        "interactions": [{
            "kind": i.kind.value, "text": i.body, "created_at": _when(i.created_at),
            "follow_up_on": i.follow_up_on.isoformat() if i.follow_up_on else None,
            "follow_up_done_at": _when(i.follow_up_done_at),
        } for i in interactions],
        "reviews": [{
            "book": title, "rating": r.rating, "text": r.body, "status": r.status.value,
            "created_at": _when(r.created_at), "updated_at": _when(r.updated_at),
            "moderated_at": _when(r.moderated_at), "moderation_note": r.moderation_note,
        } for r, title in reviews],
        "survey_answers": [{
            "order": o.number, "score": a.score, "comment": a.comment,
            "created_at": _when(a.created_at), "updated_at": _when(a.updated_at),
        } for a, o in answers],
        "grade_history": [{
            "at": _when(g.at), "from": g.from_name, "to": g.to_name, "reason": g.reason.value,
            "spend": str(g.spend), "note": g.note,
        } for g in grades],
        "mails": [{
            "kind": m.kind, "to": m.to_email, "subject": m.subject, "status": m.status.value,
            "created_at": _when(m.created_at), "sent_at": _when(m.sent_at),
            "text": m.body_text,
        } for m in mails],
        "campaigns": [{
            "campaign": c.name, "subject": c.subject, "group": group.value,
            "sent_at": _when(c.sent_at),
        } for group, c in campaigns],
        "profiling": [{
            "as_of": _when(as_of), "segment": p.segment, "grade": p.tier_code,
            "recency_days": p.recency_days, "frequency": p.frequency,
            "monetary": str(p.monetary), "r_score": p.r_score, "f_score": p.f_score,
            "m_score": p.m_score, "repeat_transactions": p.repeat_transactions,
            "p_alive": p.p_alive, "p_alive_month_before": p.p_alive_prev,
            "expected_purchases": p.expected_purchases,
            "expected_spend": None if p.expected_spend is None else str(p.expected_spend),
            "clv": None if p.clv is None else str(p.clv), "at_risk": p.at_risk,
        } for p, as_of in profiling],
        # The session key is a secret (it would log the file's reader in): left out.
        "signed_in_sessions": [{
            "signed_in_at": _when(x.created_at), "last_seen_at": _when(x.last_seen_at),
            "browser": x.user_agent,
        } for x in signed_in],
        # Requests to join with the address (the password hash is one-way: left out).
        "join_requests": [{
            "at": _when(j.created_at), "email": j.email, "name": j.name, "language": j.locale,
        } for j in joins],
        "account_history": [{
            "at": _when(e.at), "action": e.action, "summary": e.summary,
            "before": e.before, "after": e.after,
        } for e in history],
    }


TEXT_FIELDS = {"phone", "ship_phone", "postcode", "ship_postcode", "member_no"}


def _cell(key: str, value: object) -> object:
    """A CSV cell: phones and postcodes are text (app.core.exports.Text), dicts as JSON."""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if key in TEXT_FIELDS and isinstance(value, str):
        return Text(value)
    return value


def member_data_rows(data: dict) -> Iterator[list[object]]:
    """The same data as CSV rows: one section after another, each with its own header; a list
    inside a record (an order's lines) follows as its own section, keyed by the record's
    first field."""
    yield ["section", "field", "value"]
    for key, value in data["profile"].items():
        yield ["profile", key, _cell(key, value)]
    yield ["profile", "tags", ", ".join(data["tags"])]
    for section, records in data.items():
        if section in ("profile", "tags"):
            continue
        yield []
        fields = [k for k, v in records[0].items() if not isinstance(v, list)] if records \
            else []
        yield [section, *fields] if fields else [section]
        nested: dict[str, list[list[object]]] = {}
        headers: dict[str, list[str]] = {}
        for record in records:
            yield [section, *(_cell(k, record[k]) for k in fields)]
            for key, items in record.items():
                if isinstance(items, list) and items:
                    headers.setdefault(key, list(items[0]))
                    nested.setdefault(key, []).extend(
                        [record[fields[0]], *(_cell(k, v) for k, v in item.items())]
                        for item in items)
        for key, rows in nested.items():
            yield []
            yield [f"{section}.{key}", fields[0], *headers[key]]
            for row in rows:
                yield [f"{section}.{key}", *row]


def record_export(member: Member, actor: Member, fmt: str) -> None:
    _require_admin(actor)
    audit.record(actor.id, actor.email, "customer.export", member, after={"format": fmt},
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


# Values kept in audit entries about an erased person: they say what changed, not who the
# person is (statuses, roles, grades, flags, ids, and the times things happened).
AUDIT_KEPT_KEYS = frozenset({
    "status", "role", "tier_code", "tier_is_manual", "kind", "format", "is_active_account",
    "mail_opt_in", "stock_alerts_opt_in", "interaction_id", "mail_id", "attempts", "rating",
})


def _scrub_value(key: str, value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {k: _scrub_value(k, v) for k, v in value.items()}
    if key in AUDIT_KEPT_KEYS or key.endswith(("_at", "_on")):
        return value
    return ERASED_TEXT


def _scrub(value: dict | None) -> dict | None:
    if not value:
        return value
    return {k: _scrub_value(k, v) for k, v in value.items()}


def _audit_about(member: Member, old_email: str) -> sa.ColumnElement[bool]:
    """The audit entries about the person: on their account, and on their orders, reviews,
    notes and mails."""
    from app.feedback.models import Review

    def on(target_type: str, ids: sa.Select) -> sa.ColumnElement[bool]:
        return sa.and_(AuditEntry.target_type == target_type, AuditEntry.target_id.in_(ids))

    return sa.or_(
        sa.and_(AuditEntry.target_type == "member", AuditEntry.target_id == member.id),
        on("orders", sa.select(Order.id).where(Order.member_id == member.id)),
        on("review", sa.select(Review.id).where(Review.member_id == member.id)),
        on("interaction", sa.select(Interaction.id).where(Interaction.member_id == member.id)),
        on("outbox_mail", sa.select(OutboxMail.id).where(sa.or_(
            OutboxMail.member_id == member.id,
            sa.func.lower(OutboxMail.to_email) == old_email.lower()))),
    )


def scrub_audit_log(member: Member, old_email: str, placeholder: str) -> int:
    """Replace the personal text in every audit entry about the person (the notes staff wrote,
    tag names, typed reasons and notes, addresses, the email in summaries): each keeps when it
    was made, by whom, the action, its target and the non-personal values (AUDIT_KEPT_KEYS).
    Entries the person made themselves keep their account id, not their address. Returns how
    many entries were scrubbed."""
    entries = db.session.scalars(sa.select(AuditEntry).where(_audit_about(member, old_email)))
    count = 0
    for entry in entries:
        entry.before, entry.after = _scrub(entry.before), _scrub(entry.after)
        entry.summary = ERASED_TEXT
        count += 1
    db.session.execute(
        sa.update(AuditEntry).where(AuditEntry.actor_id == member.id)
        .values(actor_label=placeholder).execution_options(synchronize_session=False))
    # Searches staff typed for them (a customer list or orders download, a mail log retry,
    # whatever the action): the filters stored in any entry, scrubbed where they match.
    matches = _search_matcher(old_email, member.name, member.phone)
    for entry in db.session.scalars(sa.select(AuditEntry).where(_stores_filters())):
        before, after = _scrub_searches(entry.before, matches), _scrub_searches(entry.after,
                                                                                matches)
        if (before, after) != (entry.before, entry.after):
            entry.before, entry.after = before, after
            count += 1
    return count


# Keys under which audit entries keep the filters or search text staff typed.
SEARCH_KEYS = frozenset({"filter", "filters", "q", "query", "search"})
# Filter values that are chosen from a list, not typed: kept even when they happen to match.
FILTER_KEPT_KEYS = AUDIT_KEPT_KEYS | {"sort", "order", "page", "out", "action", "target_type",
                                      "target_id", "date_from", "date_to"}


def _stores_filters() -> sa.ColumnElement[bool]:
    """Entries whose before or after names one of SEARCH_KEYS (read as JSON text)."""
    return sa.or_(*(sa.cast(column, sa.Text).contains(f'"{key}"')
                    for column in (AuditEntry.before, AuditEntry.after)
                    for key in SEARCH_KEYS))


def _search_matcher(*values: str | None) -> Callable[[str], bool]:
    """Whether a typed search finds the person: it holds their email, name or phone, or is
    a part of one of them (three characters or more; a phone by its digits, six or more)."""
    typed = {v.strip().lower() for v in values if v and len(v.strip()) > 2}
    digits = {d for v in values if v and len(d := re.sub(r"\D", "", v)) >= 6}

    def matches(text: str) -> bool:
        query = text.strip().lower()
        if len(query) > 2 and any(query in value or value in query for value in typed):
            return True
        number = re.sub(r"\D", "", query)
        return len(number) >= 6 and any(number in d or d in number for d in digits)

    return matches


def _scrub_searches(value: object, matches: Callable[[str], bool], key: str = "",
                    inside: bool = False) -> object:
    """`value` with every typed search (under SEARCH_KEYS, at any depth) that `matches`
    replaced by ERASED_TEXT; the rest as it was."""
    inside = inside or key in SEARCH_KEYS
    if isinstance(value, dict):
        return {k: _scrub_searches(v, matches, k, inside) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_searches(v, matches, key, inside) for v in value]
    if (inside and isinstance(value, str) and key not in FILTER_KEPT_KEYS
            and matches(value)):
        return ERASED_TEXT
    return value


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
    - outbox mails to them lose their address, subject and body; unsent ones (waiting or
      failed) are cancelled, and no retry ever queues them again (`mail.retry_failed`);
    - audit entries about them (their account, orders, reviews, notes and mails) keep who did
      what and when, but lose the personal text: notes, tag names, typed reasons, addresses
      (`scrub_audit_log`), and searches staff typed for them (their address, name or phone
      in the filters of any entry, such as a list download or a mail retry) are scrubbed.
    """
    _require_admin(actor)
    if member.erased_at is not None:
        raise AccountErased(_("This account was already erased."))
    if member.role is not Role.MEMBER:
        raise NotAllowed(_("Make this person a member (not staff) before erasing the account."))
    from app.demand.cancelling import cancel_demand

    old_email = member.email
    placeholder = erased_email(member)
    now = utcnow()

    for demand in db.session.scalars(
        sa.select(Demand).where(Demand.member_id == member.id,
                                Demand.status.in_((DemandStatus.OPEN, DemandStatus.NOTIFIED)))
    ).all():
        cancel_demand(demand, now)
    for demand in db.session.scalars(
        sa.select(Demand).where(Demand.member_id.is_(None),
                                sa.func.lower(Demand.email) == old_email.lower())
    ).all():
        if demand.status in (DemandStatus.OPEN, DemandStatus.NOTIFIED):
            cancel_demand(demand, now)
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
    scrub_audit_log(member, old_email, placeholder)  # first: it finds mails by address
    mail_of_member = sa.or_(OutboxMail.member_id == member.id,
                            sa.func.lower(OutboxMail.to_email) == old_email.lower())
    db.session.execute(
        sa.update(OutboxMail).where(mail_of_member, OutboxMail.status.in_(
            (MailStatus.PENDING, MailStatus.FAILED)))
        .values(status=MailStatus.CANCELLED).execution_options(synchronize_session=False))
    db.session.execute(
        sa.update(OutboxMail).where(mail_of_member)
        .values(to_email=placeholder, subject=ERASED_TEXT, body_text=ERASED_TEXT,
                body_html=None, headers={}, last_error=None)
        .execution_options(synchronize_session=False))
    db.session.execute(sa.delete(MemberTag).where(MemberTag.member_id == member.id))
    db.session.execute(sa.delete(JoinRequest).where(sa.or_(
        JoinRequest.member_id == member.id,
        sa.func.lower(JoinRequest.email) == old_email.lower())))
    cart = db.session.scalar(sa.select(Cart).where(Cart.member_id == member.id))
    if cart is not None:
        db.session.delete(cart)
    db.session.execute(
        sa.update(Interaction).where(Interaction.member_id == member.id)
        .values(body=ERASED_TEXT).execution_options(synchronize_session=False))
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
    audit.record(actor.id, actor.email, "customer.erase", target_type="member", target_id=member.id,
                 summary="Personal data erased on request")
    return member
