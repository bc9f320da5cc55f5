"""A member's data for a subject access request: everything the shop holds about the person,
as JSON-safe sections (`member_data`) or CSV rows (`member_data_rows`). Admins only; each
download is audited (`record_export`). Reads and flushes, never commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.core.audit import record as audit
from app.core.audit.models import AuditEntry
from app.core.exports import Text
from app.core.extensions import db
from app.crm.customer_admin import require_admin
from app.crm.models import Interaction
from app.crm.tags import tag_names
from app.demand.models import Demand
from app.mail.models import OutboxMail
from app.membership.models import (
    JoinRequest,
    Member,
    MemberSession,
    MemberSignIn,
)
from app.ordering.models import Cart, Order


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
    "campaign_list_member.member_id": "campaign_lists",
    "analytics_member.member_id": "profiling",
    "member_sessions.member_id": "signed_in_sessions",
    "member_sign_in.member_id": "sign_ins",
    "join_requests.member_id": "join_requests",
    "join_requests.email": "join_requests",
    "return_request.member_id": "returns",
    "return_request.opened_by_id": "returns",
    "support_case.member_id": "service_cases",
    "support_case.visitor_email": "service_cases",
    "case_message.author_id": "service_cases",
    "contact_request.email": "contact_requests",
    "api_token.member_id": "api_tokens",
    "api_idempotent_result.member_id": "api_calls",
}
_STAFF_WORK = "the member of staff who did it: a record of staff work, not data about the customer"
EXPORT_EXCLUDED = {
    "analytics_run.requested_by_id": _STAFF_WORK,
    "audit_entry.actor_id": _STAFF_WORK + " (entries about the person are in account_history)",
    "campaign.created_by_id": _STAFF_WORK,
    "campaign.sent_by_id": _STAFF_WORK,
    "interaction.staff_id": _STAFF_WORK + " (the notes about the person are in interactions)",
    "interaction.follow_up_done_by_id": _STAFF_WORK,
    "interaction.assignee_id": _STAFF_WORK + " (the task itself is in interactions)",
    "member_tag.added_by_id": _STAFF_WORK,
    "stock_receipt.actor_id": _STAFF_WORK,
    "review.moderated_by_id": _STAFF_WORK + " (the decision and its note are in reviews)",
    "order_event.actor_id": _STAFF_WORK + " (the order's status history is in orders)",
    "grade_change.actor_id": _STAFF_WORK,
    "refund.actor_id": _STAFF_WORK + " (the refunds on the person's orders are in refunds)",
    "support_case.assignee_id": _STAFF_WORK + " (the cases themselves are in service_cases)",
    "webhook_endpoint.created_by_id": _STAFF_WORK + " (the admin who registered a webhook)",
    "customer_view.owner_id": _STAFF_WORK + " (a saved list view of staff)",
    "demand.taken_by_id": _STAFF_WORK + " (who took a demand on the phone)",
    "orders.placed_by_id": _STAFF_WORK + " (who took a phone order; its channel is in orders)",
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
    from app.api.models import ApiIdempotentResult, ApiToken
    from app.campaigns.models import Campaign, CampaignListMember, CampaignRecipient
    from app.catalog.models import Book
    from app.feedback.models import Review, SurveyResponse
    from app.grades.models import GradeChange
    from app.ordering.models import CartLine, OrderEvent
    from app.returns.gdpr import member_refunds_data, member_returns_data
    from app.support.cases import person_cases
    from app.support.models import ContactRequest

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
    chosen_for = db.session.execute(
        sa.select(CampaignListMember.added_at, Campaign)
        .join(Campaign, Campaign.id == CampaignListMember.campaign_id)
        .where(CampaignListMember.member_id == member.id).order_by(Campaign.id)
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
    sign_ins = db.session.scalars(
        sa.select(MemberSignIn).where(MemberSignIn.member_id == member.id)
        .order_by(MemberSignIn.signed_in_at, MemberSignIn.id)
    ).all()
    joins = db.session.scalars(
        sa.select(JoinRequest).where(sa.or_(JoinRequest.member_id == member.id,
                                            sa.func.lower(JoinRequest.email) == email))
        .order_by(JoinRequest.created_at, JoinRequest.id)
    ).all()
    cases = person_cases(member)
    contact_requests = db.session.scalars(
        sa.select(ContactRequest).where(sa.func.lower(ContactRequest.email) == email)
        .order_by(ContactRequest.created_at, ContactRequest.id)
    ).all()
    api_tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.member_id == member.id)
        .order_by(ApiToken.created_at, ApiToken.id)
    ).all()
    api_calls = db.session.scalars(
        sa.select(ApiIdempotentResult).where(ApiIdempotentResult.member_id == member.id)
        .order_by(ApiIdempotentResult.created_at, ApiIdempotentResult.id)
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
            "channel": o.channel.value,
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
        "returns": member_returns_data(member.id),
        "refunds": member_refunds_data(member.id),
        "cart": [{"title": title, "quantity": line.quantity, "added_at": _when(line.added_at)}
                 for line, title in cart_lines],
        "demands": [{
            "title": d.display_title, "quantity": d.quantity, "status": d.status.value,
            "email": d.email, "note": d.note, "caller_name": d.caller_name,
            "created_at": _when(d.created_at),
            "notified_at": _when(d.notified_at), "fulfilled_at": _when(d.fulfilled_at),
            "cancelled_at": _when(d.cancelled_at), "expired_at": _when(d.expired_at),
        } for d in demands],
        "interactions": [{
            "kind": i.kind.value, "text": i.body, "created_at": _when(i.created_at),
            "follow_up_on": i.follow_up_on.isoformat() if i.follow_up_on else None,
            "follow_up_done_at": _when(i.follow_up_done_at),
            "task_priority": i.priority.value if i.follow_up_on else None,
            "task_note": i.task_note,
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
        # Campaigns whose audience is a list of customers staff chose, and when they were added.
        "campaign_lists": [{
            "campaign": c.name, "subject": c.subject, "status": c.status.value,
            "added_at": _when(added_at),
        } for added_at, c in chosen_for],
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
        # Every sign-in kept (SIGN_IN_HISTORY_DAYS), whether its session is over or not.
        "sign_ins": [{
            "at": _when(x.signed_in_at), "way": x.way, "browser": x.browser,
        } for x in sign_ins],
        # Requests to join with the address (the password hash is one-way: left out).
        "join_requests": [{
            "at": _when(j.created_at), "email": j.email, "name": j.name, "language": j.locale,
        } for j in joins],
        # A case's thread: the person's messages and the staff's replies to them (the
        # staff's names are left out: see EXPORT_EXCLUDED).
        "service_cases": [{
            "case": c.number, "subject": c.subject, "type": c.case_type.value,
            "status": c.status.value, "priority": c.priority.value, "source": c.source.value,
            "order": c.order_id and Order.number_for(c.order_id),
            "name": c.visitor_name, "email": c.visitor_email,
            "created_at": _when(c.created_at), "first_response_at": _when(c.first_response_at),
            "resolved_at": _when(c.resolved_at), "closed_at": _when(c.closed_at),
            "satisfaction": c.csat_score,
            "messages": [{
                "at": _when(m.created_at), "from": "customer" if m.direction.value == "in"
                else "staff", "text": m.body,
            } for m in c.messages],
        } for c in cases],
        "contact_requests": [{
            "at": _when(r.created_at), "name": r.name, "email": r.email,
            "subject": r.subject, "text": r.body,
        } for r in contact_requests],
        # API tokens (the hash of the secret would let no one in, but it is a credential's
        # fingerprint: left out; the prefix says which token it was).
        "api_tokens": [{
            "name": t.name, "prefix": t.prefix, "scopes": t.scopes,
            "created_at": _when(t.created_at), "expires_at": _when(t.expires_at),
            "last_used_at": _when(t.last_used_at), "revoked_at": _when(t.revoked_at),
        } for t in api_tokens],
        # Calls made through the API with an Idempotency-Key, and the answer kept for a retry.
        "api_calls": [{
            "at": _when(c.created_at), "key": c.key, "endpoint": c.endpoint,
            "status": c.status_code, "answer": c.body,
        } for c in api_calls],
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
    require_admin(actor)
    audit.record(actor.id, actor.email, "customer.export", member, after={"format": fmt},
                 summary=f"Personal data exported as {fmt.upper()}")
