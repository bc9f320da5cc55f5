"""The customer's story by sale phase: one timeline of everything that happened with them,
grouped as the dynamic CRM model does, *before* the sale (demands, campaigns received, mails,
visits to the shop as recorded sign-ins), *during* it (carts, orders, payments, phone calls
and notes) and *after* it (deliveries, reviews, satisfaction answers, grade changes).

A timeline source (`TimelineSource`) is one kind of event: its phase, its label, and a query
for one member giving the columns `at`, `ref_id`, `title`, `detail` and `amount` (Money or
NULL). Features add theirs with `register_timeline_source` from their `init_app` (returns and
service cases will: the registry is the hook). A page is one UNION ALL of the chosen sources,
newest first, with its count: two statements, however many kinds and events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from app.core.db import Money, UTCDateTime
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l

PHASES = {
    "before": _l("Before the sale"),
    "during": _l("During the sale"),
    "after": _l("After the sale"),
}
PER_PAGE = 50


@dataclass(frozen=True)
class TimelineSource:
    kind: str
    phase: str  # a PHASES key
    label: object  # a lazy string
    query: Callable[[int], sa.Select]  # member id -> SELECT at, ref_id, title, detail, amount
    link: Callable[[int], str] | None = None  # ref_id -> a URL (admin pages), or None
    # (ref_id, title, detail) -> (title, detail) as shown, e.g. an order's reference from its
    # id, a status in words; None shows them as selected.
    describe: Callable[[int, str | None, str | None], tuple[str, str | None]] | None = None


_SOURCES: dict[str, TimelineSource] = {}


def register_timeline_source(source: TimelineSource) -> None:
    """Add a kind of event to every customer's timeline (idempotent by kind)."""
    if source.phase not in PHASES:
        raise ValueError(f"unknown phase {source.phase!r}")
    _SOURCES.setdefault(source.kind, source)


def timeline_sources() -> list[TimelineSource]:
    return list(_SOURCES.values())


def columns(at, ref_id, title, detail=None, amount=None) -> list[sa.ColumnElement]:
    """The five labelled columns every source selects, typed alike for the UNION."""
    return [
        sa.type_coerce(at, UTCDateTime()).label("at"),
        sa.cast(ref_id, sa.Integer).label("ref_id"),
        sa.cast(title, sa.String).label("title"),
        sa.cast(detail if detail is not None else sa.null(), sa.String).label("detail"),
        # Money is integer cents in the database: BIGINT on every side of the UNION.
        sa.cast(amount if amount is not None else sa.null(), sa.BigInteger).label("amount"),
    ]


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str
    phase: str
    label: object
    title: str
    detail: str | None
    amount: Decimal | None
    ref_id: int | None
    link: Callable[[int], str] | None = None

    @property
    def url(self) -> str | None:
        """Where the event leads (built when shown, in a request)."""
        return self.link(self.ref_id) if self.link is not None and self.ref_id else None


@dataclass(frozen=True)
class TimelinePage:
    events: list[TimelineEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def chosen_sources(phase: str | None = None, kind: str | None = None) -> list[TimelineSource]:
    return [s for s in _SOURCES.values()
            if (not phase or s.phase == phase) and (not kind or s.kind == kind)]


def timeline(member_id: int, *, phase: str | None = None, kind: str | None = None,
             page: int = 1, per_page: int = PER_PAGE) -> TimelinePage:
    """One page of the member's timeline, newest first, limited to a phase and/or a kind."""
    sources = chosen_sources(phase, kind)
    if not sources:
        return TimelinePage([], 0, 1, per_page)
    union = sa.union_all(*(
        source.query(member_id).add_columns(sa.literal(source.kind).label("kind"))
        for source in sources)).subquery("timeline")
    total = db.session.scalar(sa.select(sa.func.count()).select_from(union)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(
        sa.select(sa.type_coerce(union.c.at, UTCDateTime()), union.c.kind, union.c.ref_id,
                  union.c.title, union.c.detail, sa.type_coerce(union.c.amount, Money()))
        .order_by(union.c.at.desc(), union.c.kind, union.c.ref_id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    events = []
    for at, kind_, ref_id, title, detail, amount in rows:
        source = _SOURCES[kind_]
        if source.describe is not None:
            title, detail = source.describe(ref_id, title, detail)
        events.append(TimelineEvent(
            at=at, kind=kind_, phase=source.phase, label=source.label, title=title or "",
            detail=detail, amount=amount, ref_id=ref_id, link=source.link))
    return TimelinePage(events, total, page, per_page)


# --------------------------------------------------------------------------- the CRM's sources


def register_default_sources() -> None:
    """The kinds the features below the CRM record (called by the CRM's init_app)."""
    from flask import url_for

    from app.campaigns.models import Campaign, CampaignRecipient, RecipientGroup
    from app.catalog.models import Book
    from app.crm.interactions import kind_label
    from app.crm.models import Interaction, InteractionKind
    from app.demand.models import Demand
    from app.feedback.models import Review, SurveyResponse
    from app.grades.labels import reason_label
    from app.grades.models import GradeChange
    from app.mail.models import OutboxMail
    from app.membership.models import MemberSignIn
    from app.membership.sessions import describe_key, way_label
    from app.ordering.models import Cart, CartLine, Order

    def order_link(order_id: int) -> str:
        return url_for("admin.order_detail", order_id=order_id)

    def order_number(ref_id, _title, detail):
        return Order.number_for(ref_id), detail

    channels = {"web": _l("on the website"), "phone": _l("on the phone")}
    demand_states = {"open": _l("waiting"), "notified": _l("told: in stock"),
                     "fulfilled": _l("bought"), "cancelled": _l("cancelled"),
                     "expired": _l("hold ended")}

    sources = [
        # before
        TimelineSource("demand", "before", _l("Demand"), lambda m: sa.select(*columns(
            Demand.created_at, Demand.id,
            sa.func.coalesce(Book.title, Demand.requested_title), Demand.status))
            .outerjoin(Book, Book.id == Demand.book_id).where(Demand.member_id == m),
            describe=lambda _r, t, d: (t or "", str(demand_states.get(d, d)))),
        TimelineSource("campaign", "before", _l("Campaign received"),
                       lambda m: sa.select(*columns(
                           Campaign.sent_at, Campaign.id, Campaign.subject, Campaign.name))
                       .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
                       .where(CampaignRecipient.member_id == m,
                              CampaignRecipient.group == RecipientGroup.MAILED,
                              Campaign.sent_at.is_not(None))),
        TimelineSource("mail", "before", _l("Mail"), lambda m: sa.select(*columns(
            OutboxMail.created_at, OutboxMail.id, OutboxMail.subject, OutboxMail.kind))
            .where(OutboxMail.member_id == m),
            link=lambda mail_id: url_for("admin.mail_detail", mail_id=mail_id)),
        # The sign-in history (kept after logout, for SIGN_IN_HISTORY_DAYS).
        TimelineSource("sign_in", "before", _l("Signed in"), lambda m: sa.select(*columns(
            MemberSignIn.signed_in_at, MemberSignIn.id, MemberSignIn.browser,
            MemberSignIn.way)).where(MemberSignIn.member_id == m),
            describe=lambda _r, t, d: (describe_key(t), way_label(d))),
        # during
        TimelineSource("cart", "during", _l("Put in the cart"), lambda m: sa.select(*columns(
            CartLine.added_at, CartLine.book_id, Book.title, CartLine.quantity))
            .join(Cart, Cart.id == CartLine.cart_id).join(Book, Book.id == CartLine.book_id)
            .where(Cart.member_id == m)),
        TimelineSource("order", "during", _l("Order placed"), lambda m: sa.select(*columns(
            Order.placed_at, Order.id, sa.null(), Order.channel, Order.total))
            .where(Order.member_id == m), link=order_link,
            describe=lambda ref, _t, d: (Order.number_for(ref), str(channels.get(d, d)))),
        TimelineSource("payment", "during", _l("Payment"), lambda m: sa.select(*columns(
            Order.paid_at, Order.id, sa.null(), Order.payment_method, Order.total))
            .where(Order.member_id == m, Order.paid_at.is_not(None)), link=order_link,
            describe=order_number),
        TimelineSource("call", "during", _l("Phone call"), lambda m: sa.select(*columns(
            Interaction.created_at, Interaction.id, Interaction.body))
            .where(Interaction.member_id == m, Interaction.kind == InteractionKind.PHONE)),
        TimelineSource("note", "during", _l("Note"), lambda m: sa.select(*columns(
            Interaction.created_at, Interaction.id, Interaction.body, Interaction.kind))
            .where(Interaction.member_id == m, Interaction.kind != InteractionKind.PHONE),
            describe=lambda _r, t, d: (t or "", kind_label(d) if d else None)),
        # after
        TimelineSource("delivery", "after", _l("Delivered"), lambda m: sa.select(*columns(
            Order.delivered_at, Order.id, sa.null()))
            .where(Order.member_id == m, Order.delivered_at.is_not(None)), link=order_link,
            describe=order_number),
        TimelineSource("review", "after", _l("Review"), lambda m: sa.select(*columns(
            Review.created_at, Review.id, Book.title, Review.rating))
            .join(Book, Book.id == Review.book_id).where(Review.member_id == m),
            describe=lambda _r, t, d: (t or "", f"{d}★" if d else None)),
        TimelineSource("nps", "after", _l("Satisfaction answer"), lambda m: sa.select(*columns(
            SurveyResponse.created_at, SurveyResponse.order_id, sa.null(),
            SurveyResponse.score)).where(SurveyResponse.member_id == m), link=order_link,
            describe=lambda ref, _t, d: (Order.number_for(ref), f"{d}/10")),
        TimelineSource("grade", "after", _l("Grade change"), lambda m: sa.select(*columns(
            GradeChange.at, GradeChange.id,
            sa.func.coalesce(GradeChange.from_name + " → ", "") + GradeChange.to_name,
            GradeChange.reason)).where(GradeChange.member_id == m),
            describe=lambda _r, t, d: (t or "", reason_label(d) if d else None)),
    ]
    for source in sources:
        register_timeline_source(source)
