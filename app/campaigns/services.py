"""Campaigns: mail an audience with a random hold-out, then read the uplift.

Audience: every active shopper ("all"), an RFM segment ("segment", from the latest snapshot of
app.analytics.segments), a member grade ("tier") or the customers staff chose ("list": the
campaign's CampaignListMember rows, added from the customer list's bulk action while the
campaign is a draft: `add_to_list`, `remove_from_list`, `clear_list`). Whatever the kind, only
active customers are in it. Members who turned `mail_opt_in` off are counted as "opted_out"
and get nothing; they are not part of the comparison either.

Hold-out: of the members who may be mailed, round(n * holdout_rate) are drawn at random with
`random.Random(campaign.holdout_seed)` from the ids in ascending order (`split`); the seed is
stored with the campaign, so the draw can be repeated and checked. The hold-out gets nothing.

The message is plain text typed by staff; `{name}` is replaced by the member's name (nothing
else is interpreted: the text is autoescaped in the HTML part). Every mail lists up to
CAMPAIGN_RECOMMENDATIONS personal recommendations (app.analytics.recommendations)
and is queued in the outbox with the dedupe key "campaign:<id>:<member id>"; a send-time check
drops it if the member opted out meanwhile.

Uplift (`results`): over the CAMPAIGN_RESULT_DAYS days after sending, each group's conversion
(share of members with a paid order), orders and revenue per member (`Order.revenue`:
paid orders, after discount); the differences mailed - hold-out come with 95 % intervals
(`app.analytics.inference`: Newcombe's hybrid score interval for conversion, Welch's t
for revenue per member, every member counted, zeros included). What the mailing earned is the
exact per-member difference x members mailed, rounded once. Before the window ends the figures
are shown as "so far".
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.analytics import inference, recommendations
from app.campaigns.models import (
    Campaign,
    CampaignListMember,
    CampaignRecipient,
    CampaignStatus,
    RecipientGroup,
)
from app.catalog.models import Book
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.lazy import numpy as np
from app.core.money import from_cents, round_money
from app.core.urls import external_url
from app.mail import outbox as mail_service
from app.mail import send_checks
from app.mail.rendering import render as render_mail
from app.membership.models import Member
from app.ordering.models import Order

KIND = "campaign"
AUDIENCE_KINDS = {"all": _l("All members"), "segment": _l("RFM segment"),
                  "tier": _l("Member grade"), "list": _l("Chosen customers")}
VALUELESS_KINDS = ("all", "list")  # audiences with no segment or grade to name
FIELDS = ("name", "audience_kind", "audience_value", "subject", "message", "holdout_rate")
MAX_HOLDOUT = Decimal("0.5")


class CampaignError(DomainError):
    pass


# --------------------------------------------------------------------------- audience


def audience_filter(kind: str, value: str | None,
                    campaign_id: int | None = None) -> list[sa.ColumnElement[bool]]:
    """Conditions on `Member` selecting the active shoppers of an audience (for "list", those
    on campaign `campaign_id`'s list)."""
    conditions = [Member.is_customer, Member.is_active_account.is_(True)]
    if kind == "segment":
        from app.analytics import segments

        conditions.append(Member.id.in_(segments.members_in_segment(value or "")))
    elif kind == "tier":
        conditions.append(Member.tier_code == (value or ""))
    elif kind == "list":
        conditions.append(Member.id.in_(sa.select(CampaignListMember.member_id).where(
            CampaignListMember.campaign_id == (campaign_id or 0))))
    elif kind != "all":
        raise CampaignError(_("Choose who the campaign is for."))
    return conditions


def campaign_filter(campaign: Campaign) -> list[sa.ColumnElement[bool]]:
    """`audience_filter` for the campaign's own audience."""
    return audience_filter(campaign.audience_kind, campaign.audience_value, campaign.id)


def audience_select(kind: str, value: str | None, campaign_id: int | None = None) -> sa.Select:
    """Ids of the active shoppers in an audience (ascending)."""
    return sa.select(Member.id).where(
        *audience_filter(kind, value, campaign_id)).order_by(Member.id)


def first_mailable(kind: str, value: str | None,
                   campaign_id: int | None = None) -> Member | None:
    """The audience member with the lowest id who accepts mail (the default preview)."""
    return db.session.scalar(sa.select(Member).where(*audience_filter(kind, value, campaign_id),
                                                     Member.mail_opt_in.is_(True))
                             .order_by(Member.id).limit(1))


def find_member(key: str) -> Member | None:
    """The customer (role member) with that id or email (any case), to preview a campaign
    for; None when there is none. `key` holds no control character (PostgreSQL refuses a NUL
    in a query)."""
    from app.membership.models import Role

    cond = Member.id == int(key) if key.isdecimal() and len(key) < 10 \
        else sa.func.lower(Member.email) == key.lower()
    return db.session.scalar(sa.select(Member).where(cond, Member.role == Role.MEMBER))


def audience_counts(kind: str, value: str | None,
                    campaign_id: int | None = None) -> tuple[int, int]:
    """(members in the audience, of whom opted in to mail), one pass over `member`."""
    total, opted_in = db.session.execute(
        sa.select(sa.func.count(Member.id),
                  sa.func.sum(sa.case((Member.mail_opt_in.is_(True), 1), else_=0)))
        .where(*audience_filter(kind, value, campaign_id))
    ).one()
    return int(total or 0), int(opted_in or 0)


def split(member_ids: Sequence[int], rate: Decimal, seed: int) -> tuple[list[int], list[int]]:
    """(mailed, hold-out): round(n * rate) ids drawn with Random(seed) from the sorted ids."""
    ordered = sorted(set(member_ids))
    k = int((Decimal(len(ordered)) * Decimal(rate)).to_integral_value(rounding="ROUND_HALF_UP"))
    holdout = set(random.Random(seed).sample(ordered, k)) if k else set()
    return [m for m in ordered if m not in holdout], [m for m in ordered if m in holdout]


# --------------------------------------------------------------------------- drafts


def _check(name: str, subject: str, message: str, kind: str, value: str | None,
           rate: Decimal) -> None:
    if not (name or "").strip() or not (subject or "").strip() or not (message or "").strip():
        raise CampaignError(_("A campaign needs a name, a subject and a message."))
    if kind not in AUDIENCE_KINDS:
        raise CampaignError(_("Choose who the campaign is for."))
    if kind not in VALUELESS_KINDS and not value:
        raise CampaignError(_("Choose the segment or grade."))
    if not Decimal("0") <= rate <= MAX_HOLDOUT:
        raise CampaignError(_("The hold-out share must be from 0 to 50 %."))


def create(actor: Member, *, name: str, subject: str, message: str, audience_kind: str,
           audience_value: str | None, holdout_rate: Decimal | None = None) -> Campaign:
    rate = (holdout_rate if holdout_rate is not None
            else Decimal(str(current_app.config.get("CAMPAIGN_HOLDOUT_RATE", "0.10"))))
    _check(name, subject, message, audience_kind, audience_value, rate)
    campaign = Campaign(name=name.strip(), subject=subject.strip(), message=message.strip(),
                        audience_kind=audience_kind,
                        audience_value=(audience_value if audience_kind not in VALUELESS_KINDS
                                        else None),
                        holdout_rate=rate, holdout_seed=secrets.randbelow(2**31),
                        created_by_id=actor.id, created_at=utcnow())
    db.session.add(campaign)
    db.session.flush()
    audit.record(actor.id, actor.email, "campaign.create", campaign,
                 after=audit.snapshot(campaign, FIELDS),
                 summary=f"Campaign drafted: {campaign.name}")
    return campaign


def update(campaign: Campaign, actor: Member, *, name: str, subject: str, message: str,
           audience_kind: str, audience_value: str | None, holdout_rate: Decimal) -> Campaign:
    """Change a draft (audited). A draft for chosen customers given another audience loses
    its list (audited as "campaign.list_clear")."""
    if not campaign.is_draft:
        raise CampaignError(_("This campaign has been sent; it can no longer be changed."))
    _check(name, subject, message, audience_kind, audience_value, holdout_rate)
    before = audit.snapshot(campaign, FIELDS)
    leaves_list = campaign.audience_kind == "list" and audience_kind != "list"
    campaign.name, campaign.subject, campaign.message = name.strip(), subject.strip(), \
        message.strip()
    campaign.audience_kind = audience_kind
    campaign.audience_value = audience_value if audience_kind not in VALUELESS_KINDS else None
    campaign.holdout_rate = holdout_rate
    db.session.flush()
    audit.record(actor.id, actor.email, "campaign.update", campaign, before=before,
                 after=audit.snapshot(campaign, FIELDS), summary=f"Campaign edited: {name}")
    if leaves_list:
        # No longer for chosen customers: the list goes (it would linger in the export and
        # come back unseen if the draft were switched back).
        removed = db.session.execute(sa.delete(CampaignListMember).where(
            CampaignListMember.campaign_id == campaign.id)).rowcount or 0
        audit.record(actor.id, actor.email, "campaign.list_clear", campaign,
                     after={"removed": removed, "why": "audience changed"},
                     summary=f"Campaign {campaign.name}: list cleared ({removed}), its "
                             f"audience changed")
    return campaign


# --------------------------------------------------------------------------- chosen lists

LIST_PAGE = 50


def list_drafts() -> list[Campaign]:
    """Draft campaigns whose audience is a chosen list, the newest first (the customer list's
    bulk action adds to one of them)."""
    return list(db.session.scalars(
        sa.select(Campaign).where(Campaign.status == CampaignStatus.DRAFT,
                                  Campaign.audience_kind == "list")
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())))


def _check_list(campaign: Campaign | None) -> Campaign:
    if campaign is None:
        raise CampaignError(_("Choose a draft campaign for chosen customers."))
    if not campaign.is_draft:
        raise CampaignError(_("The campaign “%(name)s” has been sent; its audience can no "
                              "longer change.", name=campaign.name))
    if campaign.audience_kind != "list":
        raise CampaignError(_("The campaign “%(name)s” is not for chosen customers.",
                              name=campaign.name))
    return campaign


def _editable_list(campaign: Campaign | None) -> Campaign:
    """The campaign, if its chosen list may change (a draft for chosen customers), with its
    row locked on PostgreSQL: a send claiming it meanwhile waits for this transaction, or
    this one sees it sent. CampaignError otherwise."""
    campaign = _check_list(campaign)
    status = db.session.execute(
        sa.select(Campaign.status).where(Campaign.id == campaign.id).with_for_update()
    ).scalar_one()
    if status is not CampaignStatus.DRAFT:
        db.session.refresh(campaign)
    return _check_list(campaign)


def list_size(campaign: Campaign) -> int:
    """How many members are on the campaign's list (whether active customers or not)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(CampaignListMember)
        .where(CampaignListMember.campaign_id == campaign.id)) or 0


def list_members(campaign: Campaign, page: int, per_page: int = LIST_PAGE):
    """One page of the members on the campaign's list, by name."""
    return db.paginate(
        sa.select(Member).join(CampaignListMember, CampaignListMember.member_id == Member.id)
        .where(CampaignListMember.campaign_id == campaign.id)
        .order_by(Member.name, Member.id), page=page, per_page=per_page, error_out=False)


def add_to_list(campaign: Campaign | None, actor: Member, member_ids: Sequence[int],
                filters: dict | None = None) -> int:
    """Put customers on a draft campaign's chosen list; those already on it stay once. Only
    customers (members, not staff, not erased) are added. Returns how many were new. Audited
    ("campaign.list_add"); CampaignError for a sent campaign or one with another audience."""
    campaign = _editable_list(campaign)
    wanted = sorted({int(i) for i in member_ids})
    new: list[int] = []
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        listed = sa.select(CampaignListMember.member_id).where(
            CampaignListMember.campaign_id == campaign.id,
            CampaignListMember.member_id.in_(chunk))
        new += db.session.scalars(
            sa.select(Member.id).where(Member.id.in_(chunk), Member.is_customer,
                                       Member.id.not_in(listed)).order_by(Member.id))
    now = utcnow()
    for start in range(0, len(new), 5000):
        db.session.execute(sa.insert(CampaignListMember), [
            {"campaign_id": campaign.id, "member_id": m, "added_at": now}
            for m in new[start:start + 5000]])
    db.session.flush()
    audit.record(actor.id, actor.email, "campaign.list_add", campaign,
                 after={"added": len(new), "asked": len(wanted), "member_ids": new[:1000],
                        "filters": filters or {}},
                 summary=f"{len(new)} customers added to campaign {campaign.name}")
    return len(new)


def remove_from_list(campaign: Campaign, actor: Member, member_id: int) -> bool:
    """Take one member off a draft campaign's list (audited); False if not on it."""
    campaign = _editable_list(campaign)
    removed = db.session.execute(sa.delete(CampaignListMember).where(
        CampaignListMember.campaign_id == campaign.id,
        CampaignListMember.member_id == member_id)).rowcount or 0
    if removed:
        audit.record(actor.id, actor.email, "campaign.list_remove", campaign,
                     after={"member_id": member_id},
                     summary=f"Member {member_id} taken off campaign {campaign.name}")
    return bool(removed)


def clear_list(campaign: Campaign, actor: Member) -> int:
    """Empty a draft campaign's list (audited); how many were on it."""
    campaign = _editable_list(campaign)
    removed = db.session.execute(sa.delete(CampaignListMember).where(
        CampaignListMember.campaign_id == campaign.id)).rowcount or 0
    audit.record(actor.id, actor.email, "campaign.list_clear", campaign,
                 after={"removed": removed},
                 summary=f"Campaign {campaign.name}: list cleared ({removed})")
    return removed


# --------------------------------------------------------------------------- the mail


def personal_message(message: str, name: str) -> str:
    return message.replace("{name}", name)


def mail_context(campaign: Campaign, member: Member, books: Sequence[Book]) -> dict:
    return {
        "name": member.name,
        "message": personal_message(campaign.message, member.name),
        "books": [{"title": b.title, "authors": b.authors, "price": b.price,
                   "url": external_url("shop.book", book_id=b.id)} for b in books],
        "preferences_url": external_url("demand.preferences"),
        "shop_name": current_app.config["SHOP_NAME"],
        "subject": personal_message(campaign.subject, member.name),
    }


def preview(campaign: Campaign, member: Member) -> dict:
    """The subject, text and HTML one member would receive (nothing is queued), rendered as
    the send renders it: in that member's language, whatever the staff member reads."""
    limit = int(current_app.config.get("CAMPAIGN_RECOMMENDATIONS", 4))
    books = recommendations.for_member(member.id, limit)
    mail = render_mail("campaign", mail_context(campaign, member, books), member_id=member.id)
    return {"subject": mail.subject, "text": mail.body_text, "html": mail.body_html,
            "member": member}


@dataclass(frozen=True)
class SendReport:
    mailed: int
    holdout: int
    opted_out: int


def send(campaign: Campaign, actor: Member, now: datetime | None = None, *,
         seen_audience: int | None = None) -> SendReport:
    """Send the campaign to its audience (once): the hold-out is drawn, opt-outs are set aside
    and every recipient is recorded, audited, in this transaction; the mails themselves are
    written to the outbox by the mail senders, `ENQUEUE_BATCH` at a time (`enqueue_pending`),
    so a send to 90,000 members never runs inside a web request. With `seen_audience` (the
    audience size the admin reviewed), an audience of another size now (customers added to
    the list meanwhile) refuses the send with CampaignError: nothing is sent."""
    if not campaign.is_draft:
        raise CampaignError(_("This campaign has already been sent."))
    if seen_audience is not None:
        # The row lock (PostgreSQL) holds off additions to the list until this send is done.
        db.session.execute(sa.select(Campaign.id).where(Campaign.id == campaign.id)
                           .with_for_update())
        total, _opted_in = audience_counts(campaign.audience_kind, campaign.audience_value,
                                           campaign.id)
        if total != seen_audience:
            raise CampaignError(_(
                "The audience has changed since you looked at it (%(seen)s then, %(now)s "
                "now). Check who will get it, then send again.",
                seen=seen_audience, now=total))
    now = now or utcnow()
    claimed = db.session.execute(
        sa.update(Campaign).where(Campaign.id == campaign.id,
                                  Campaign.status == CampaignStatus.DRAFT)
        .values(status=CampaignStatus.SENT, sent_at=now, sent_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise CampaignError(_("This campaign has already been sent."))
    db.session.refresh(campaign)
    rows = db.session.execute(
        sa.select(Member.id, Member.mail_opt_in).where(*campaign_filter(campaign))
        .order_by(Member.id)
    ).all()
    opted_out = [m for m, ok in rows if not ok]
    mailed, holdout = split([m for m, ok in rows if ok], campaign.holdout_rate,
                            campaign.holdout_seed)
    recipients = [{"campaign_id": campaign.id, "member_id": m, "group": group, "outbox_id": None}
                  for group, members in ((RecipientGroup.MAILED, mailed),
                                         (RecipientGroup.HOLDOUT, holdout),
                                         (RecipientGroup.OPTED_OUT, opted_out))
                  for m in members]
    for start in range(0, len(recipients), 5000):
        db.session.execute(sa.insert(CampaignRecipient), recipients[start:start + 5000])
    campaign.mailed_count, campaign.holdout_count = len(mailed), len(holdout)
    campaign.opted_out_count = len(opted_out)
    db.session.flush()
    audit.record(actor.id, actor.email, "campaign.send", campaign,
                 after={"mailed": len(mailed), "holdout": len(holdout),
                        "opted_out": len(opted_out), "seed": campaign.holdout_seed},
                 summary=f"Campaign sent: {campaign.name}")
    return SendReport(len(mailed), len(holdout), len(opted_out))


ENQUEUE_BATCH = 500


def enqueue_pending(limit: int = ENQUEUE_BATCH) -> int:
    """Write the outbox mails of sent campaigns' recipients that have none yet, at most
    `limit`; returns how many. Run by every mail sender pass (app.commands): on PostgreSQL
    the rows are claimed with SKIP LOCKED, so senders on several machines share the work, and
    the outbox's dedupe key makes a repeat harmless anyway."""
    stmt = (sa.select(CampaignRecipient)
            .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
            .where(Campaign.status == CampaignStatus.SENT,
                   CampaignRecipient.group == RecipientGroup.MAILED,
                   CampaignRecipient.outbox_id.is_(None))
            .order_by(CampaignRecipient.campaign_id, CampaignRecipient.member_id)
            .limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=CampaignRecipient)
    pending = list(db.session.scalars(stmt))
    if not pending:
        return 0
    recommended = int(current_app.config.get("CAMPAIGN_RECOMMENDATIONS", 4))
    member_ids = [r.member_id for r in pending]
    picks = recommendations.for_members(member_ids, recommended)
    book_ids = {b for ids in picks.values() for b in ids}
    books = {b.id: b for b in db.session.scalars(sa.select(Book).where(Book.id.in_(book_ids)))}
    members = {m.id: m for m in db.session.scalars(sa.select(Member)
                                                   .where(Member.id.in_(member_ids)))}
    campaigns = {c.id: c for c in db.session.scalars(
        sa.select(Campaign).where(Campaign.id.in_({r.campaign_id for r in pending})))}
    from app.demand.tokens import TokenMinter, headers_for, unsubscribe_url

    tokens = TokenMinter()
    for recipient in pending:
        member = members[recipient.member_id]
        campaign = campaigns[recipient.campaign_id]
        context = mail_context(campaign, member,
                               [books[b] for b in picks.get(member.id, []) if b in books])
        # One-click opt-out without a login: the body link and List-Unsubscribe (RFC 8058).
        opt_out = unsubscribe_url(tokens.for_news(member.id))
        context["unsubscribe_url"] = opt_out
        row = mail_service.enqueue(
            kind=KIND, to_email=member.email, template="campaign", context=context,
            member_id=member.id, dedupe_key=f"{KIND}:{campaign.id}:{member.id}",
            headers=headers_for(opt_out))
        recipient.outbox_id = row.id
    db.session.flush()
    return len(pending)


def queued_count(campaign: Campaign) -> int:
    """Recipients of a sent campaign whose mail is not in the outbox yet."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign.id,
               CampaignRecipient.group == RecipientGroup.MAILED,
               CampaignRecipient.outbox_id.is_(None))) or 0


def register_send_checks() -> None:
    """Campaign mail goes only to members who are active and still accept mail (checked
    again at send time, a batch at a time)."""
    send_checks.register_batch_send_check(KIND, send_checks.member_accepts_mail)


# --------------------------------------------------------------------------- uplift


@dataclass(frozen=True)
class GroupResult:
    """What one group did in the window: `buyers` placed at least one paid order; `orders`
    and `revenue` count paid orders only (`Order.is_paid`, `Order.revenue`)."""

    members: int
    buyers: int
    orders: int
    revenue: Decimal

    @property
    def orders_per_member(self) -> float | None:
        return self.orders / self.members if self.members else None

    @property
    def revenue_per_member(self) -> Decimal | None:
        """Revenue / members, rounded once for display."""
        return round_money(self.revenue / self.members) if self.members else None

    @property
    def conversion(self) -> float | None:
        """Per cent of the group who bought."""
        return 100.0 * self.buyers / self.members if self.members else None


@dataclass(frozen=True)
class Verdict:
    """What an interval lets staff say. `measurable`: the interval excludes zero. Otherwise
    `more_members` (about how many more members, same split, would give +-`target`) says how
    far the test is from an answer (`inference.members_needed`, `inference.target_precision`);
    `more_than` when that is past `inference.MEMBERS_NEEDED_CAP`."""

    interval: inference.Interval
    measurable: bool
    target: float
    more_members: int | None

    @property
    def more_than(self) -> bool:
        return self.more_members is not None and self.more_members >= inference.MEMBERS_NEEDED_CAP


# The smallest steps the report shows: a tenth of a conversion point, a cent per member.
CONVERSION_RESOLUTION = 0.001
REVENUE_RESOLUTION = 0.01


def _verdict(interval: inference.Interval | None, members: int,
             resolution: float) -> Verdict | None:
    if interval is None:
        return None
    target = inference.target_precision(interval, resolution)
    return Verdict(interval, not interval.includes_zero, target,
                   None if not interval.includes_zero
                   else inference.members_needed(members, interval, target))


@dataclass(frozen=True)
class Uplift:
    mailed: GroupResult
    holdout: GroupResult
    window_start: datetime
    window_end: datetime
    complete: bool
    conversion_interval: inference.Interval | None = None  # mailed - hold-out, as fractions
    revenue_interval: inference.Interval | None = None  # per member, in the shop currency

    @property
    def comparable(self) -> bool:
        return bool(self.mailed.members and self.holdout.members)

    @property
    def orders_per_member(self) -> float | None:
        a, b = self.mailed.orders_per_member, self.holdout.orders_per_member
        return a - b if a is not None and b is not None else None

    @property
    def exact_revenue_per_member(self) -> Decimal | None:
        """Mailed revenue per member - hold-out revenue per member, unrounded."""
        if not self.comparable:
            return None
        return (self.mailed.revenue / self.mailed.members
                - self.holdout.revenue / self.holdout.members)

    @property
    def revenue_per_member(self) -> Decimal | None:
        exact = self.exact_revenue_per_member
        return round_money(exact) if exact is not None else None

    @property
    def incremental_revenue(self) -> Decimal | None:
        """What the mailing earned over doing nothing: the per-member difference x members
        mailed, i.e. mailed revenue - hold-out revenue x (mailed / hold-out), exact, rounded
        once at the end."""
        if not self.comparable:
            return None
        return round_money(self.mailed.revenue
                           - self.holdout.revenue * self.mailed.members / self.holdout.members)

    @property
    def incremental_interval(self) -> tuple[Decimal, Decimal] | None:
        """The 95 % interval of the revenue per member difference, x members mailed."""
        if self.revenue_interval is None:
            return None
        n = self.mailed.members
        return (round_money(Decimal(repr(self.revenue_interval.low)) * n),
                round_money(Decimal(repr(self.revenue_interval.high)) * n))

    @property
    def revenue_per_member_interval(self) -> tuple[Decimal, Decimal] | None:
        """The 95 % interval of the revenue per member difference, to the cent."""
        if self.revenue_interval is None:
            return None
        return (round_money(Decimal(repr(self.revenue_interval.low))),
                round_money(Decimal(repr(self.revenue_interval.high))))

    @property
    def conversion_points(self) -> float | None:
        a, b = self.mailed.conversion, self.holdout.conversion
        return a - b if a is not None and b is not None else None

    @property
    def members(self) -> int:
        return self.mailed.members + self.holdout.members

    @property
    def conversion_verdict(self) -> Verdict | None:
        return _verdict(self.conversion_interval, self.members, CONVERSION_RESOLUTION)

    @property
    def revenue_verdict(self) -> Verdict | None:
        return _verdict(self.revenue_interval, self.members, REVENUE_RESOLUTION)


def results(campaign: Campaign, now: datetime | None = None) -> Uplift | None:
    """Conversion and revenue per member, mailed vs hold-out, with their differences' 95 %
    intervals (one query: a row per buying recipient); None before sending."""
    if campaign.sent_at is None:
        return None
    now = now or utcnow()
    days = int(current_app.config.get("CAMPAIGN_RESULT_DAYS", 14))
    start, end = campaign.sent_at, campaign.sent_at + timedelta(days=days)
    r = CampaignRecipient
    spent: dict[RecipientGroup, list[int]] = {g: [] for g in RecipientGroup}
    orders: dict[RecipientGroup, int] = dict.fromkeys(RecipientGroup, 0)
    for group, count, cents in db.session.execute(
        sa.select(r.group, sa.func.count(Order.id),
                  sa.func.sum(Order.revenue_cents()))
        .join(Order, sa.and_(Order.member_id == r.member_id, Order.placed_at >= start,
                             Order.placed_at < end, Order.is_paid))
        .where(r.campaign_id == campaign.id, r.group != RecipientGroup.OPTED_OUT)
        .group_by(r.group, r.member_id)
    ):
        spent[RecipientGroup(group)].append(int(cents or 0))
        orders[RecipientGroup(group)] += int(count)

    def group(key: RecipientGroup, members: int) -> GroupResult:
        return GroupResult(members, len(spent[key]), orders[key], from_cents(sum(spent[key])))

    mailed = group(RecipientGroup.MAILED, campaign.mailed_count)
    holdout = group(RecipientGroup.HOLDOUT, campaign.holdout_count)
    conversion = revenue = None
    if mailed.members and holdout.members:
        conversion = inference.newcombe_difference(mailed.buyers, mailed.members,
                                                   holdout.buyers, holdout.members)
        revenue = inference.welch_difference(_per_member(spent[RecipientGroup.MAILED],
                                                         mailed.members),
                                             _per_member(spent[RecipientGroup.HOLDOUT],
                                                         holdout.members),
                                             resolution=REVENUE_RESOLUTION)
    return Uplift(mailed=mailed, holdout=holdout, window_start=start, window_end=end,
                  complete=now >= end, conversion_interval=conversion, revenue_interval=revenue)


def _per_member(buyer_cents: list[int], members: int) -> np.ndarray:
    """Every member's revenue in the window (currency units): the buyers', then zeros."""
    values = np.zeros(max(members, len(buyer_cents)))
    values[:len(buyer_cents)] = np.asarray(buyer_cents, dtype=float) / 100.0
    return values


def list_campaigns(page: int, per_page: int = 25):
    return db.paginate(sa.select(Campaign).order_by(Campaign.created_at.desc(),
                                                    Campaign.id.desc()),
                       page=page, per_page=per_page, error_out=False)
