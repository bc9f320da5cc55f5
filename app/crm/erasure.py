"""Erasure on request: the person is anonymised, the order rows and amounts stay for the
accounts (see `erase_member`). Admins only. Flushes, never commits.

The parts held by features below the CRM are added with `register_erasure_hook(fn)` from the
CRM's `init_app` (fn(member, placeholder_email) runs inside the same transaction).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import gettext as _

from app.campaigns.models import CampaignListMember
from app.core.audit import record as audit
from app.core.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.extensions import db
from app.crm.customer_admin import AccountErased, NotAllowed, require_admin
from app.crm.customer_views import scrub_views
from app.crm.models import Interaction, MemberTag
from app.demand.models import Demand, DemandStatus
from app.mail.models import MailStatus, OutboxMail
from app.membership import members, sessions
from app.membership.models import (
    ERASED_EMAIL_DOMAIN,
    JoinRequest,
    Member,
    MemberSignIn,
    Role,
    new_auth_token,
)
from app.ordering.models import Cart, Order

ERASED_NAME = "Erased member"
ERASED_TEXT = "[erased]"
ERASED_DOMAIN = ERASED_EMAIL_DOMAIN


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
    notes, mails, service cases (theirs, and those opened as a visitor with their address),
    returns and the refunds on their orders."""
    from app.feedback.models import Review
    from app.returns.models import Refund, ReturnRequest
    from app.support.models import SupportCase

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
        on("support_case", sa.select(SupportCase.id).where(sa.or_(
            SupportCase.member_id == member.id,
            sa.and_(SupportCase.member_id.is_(None),
                    sa.func.lower(SupportCase.visitor_email) == old_email.lower())))),
        on("return_request", sa.select(ReturnRequest.id)
           .where(ReturnRequest.member_id == member.id)),
        on("refund", sa.select(Refund.id).join(Order, Order.id == Refund.order_id)
           .where(Order.member_id == member.id)),
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
    count += scrub_views(matches)  # saved list views that search for them
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
    - the cart and tags are removed, so are the sign-in history and the place on campaigns'
      chosen lists; staff notes keep their type and dates, not their text;
    - outbox mails to them lose their address, subject and body; unsent ones (waiting or
      failed) are cancelled, and no retry ever queues them again (`mail.retry_failed`);
    - audit entries about them (their account, orders, reviews, notes, mails, service cases,
      returns and the refunds on their orders) keep who did what and when, but lose the
      personal text: notes, tag names, typed reasons, addresses (`scrub_audit_log`), and
      searches staff typed for them (their address, name or phone in the filters of any
      entry, such as a list download or a mail retry) are scrubbed.
    """
    require_admin(actor)
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
        demand.caller_name = None
        demand.confirm_token_hash = None
    db.session.execute(sa.update(Demand).where(Demand.member_id == member.id)
                       .values(note=None, caller_name=None)
                       .execution_options(synchronize_session=False))

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
    db.session.execute(sa.delete(MemberSignIn).where(MemberSignIn.member_id == member.id))
    db.session.execute(sa.delete(CampaignListMember)
                       .where(CampaignListMember.member_id == member.id))
    db.session.execute(sa.delete(JoinRequest).where(sa.or_(
        JoinRequest.member_id == member.id,
        sa.func.lower(JoinRequest.email) == old_email.lower())))
    cart = db.session.scalar(sa.select(Cart).where(Cart.member_id == member.id))
    if cart is not None:
        db.session.delete(cart)
    db.session.execute(
        sa.update(Interaction).where(Interaction.member_id == member.id)
        .values(body=ERASED_TEXT, task_note=sa.case(
            (Interaction.task_note.is_not(None), ERASED_TEXT), else_=None))
        .execution_options(synchronize_session=False))
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
    member.password_hash = members.hash_password(secrets.token_urlsafe(32))
    member.auth_token = new_auth_token()
    sessions.end_all(member)
    member.is_active_account = False
    member.erased_at = now
    db.session.flush()
    db.session.expire_all()
    audit.record(actor.id, actor.email, "customer.erase", target_type="member", target_id=member.id,
                 summary="Personal data erased on request")
    return member
