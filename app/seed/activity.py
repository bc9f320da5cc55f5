"""The shop's recent activity in the demo data (issue 22), so the admin screens are not empty
on a fresh `make run`: a history of demands and the arrival mails that answered them (with
the stock receipts that brought the copies), order confirmations in the mail log, and a
campaign sent four weeks ago with its hold-out (its uplift report reads the orders that
followed). Deterministic for one `now`; flushes. Called by `flask seed` after the feedback.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.campaigns import services as campaigns
from app.campaigns.models import CampaignRecipient
from app.catalog.models import Book
from app.core.bulk import bulk_insert
from app.core.extensions import db
from app.demand.models import Demand, DemandStatus, StockReceipt
from app.mail.models import MailStatus, OutboxMail
from app.membership.models import Member, Role
from app.ordering.models import Order
from app.seed import people

SEED = 2222
DEMANDS = 90
CONFIRMATIONS = 60
CAMPAIGN_DAYS_AGO = 28


@dataclass(frozen=True)
class ActivityReport:
    demands: int
    arrival_mails: int
    mails: int
    campaign_mailed: int
    campaign_holdout: int
    seconds: float


def _mail(n: int, kind: str, member: Member, subject: str, body: str, at: datetime,
          dedupe_key: str | None = None) -> dict:
    return {"kind": kind, "dedupe_key": dedupe_key, "to_email": member.email,
            "member_id": member.id, "subject": subject, "body_text": body, "body_html": None,
            "headers": {}, "status": MailStatus.SENT, "attempts": 1, "created_at": at,
            "next_attempt_at": at, "sent_at": at + timedelta(seconds=20),
            "last_attempt_at": at + timedelta(seconds=20),
            "message_id": f"<seed-{kind}-{n}@bookstation.mail>"}


def _demand_history(rng: random.Random, now: datetime, members: list[Member],
                    admin: Member | None) -> tuple[int, list[dict]]:
    sold_out = list(db.session.scalars(sa.select(Book).where(Book.stock_on_hand == 0)
                                       .order_by(Book.id).limit(40)))
    in_stock = list(db.session.scalars(sa.select(Book).where(Book.stock_on_hand > 0)
                                       .order_by(Book.sold_count.desc(), Book.id).limit(40)))
    if not members or not in_stock:
        return 0, []
    mails: list[dict] = []
    receipts: dict[tuple[int, datetime], StockReceipt] = {}
    taken: set[tuple[int, int]] = set()
    made = 0
    for n in range(DEMANDS):
        member = rng.choice(members)
        waiting = sold_out and n % 3 == 0  # a third still wait for a sold-out book
        book = rng.choice(sold_out if waiting else in_stock)
        if (member.id, book.id) in taken:
            continue
        taken.add((member.id, book.id))
        created = now - timedelta(days=rng.randint(20, 300), hours=rng.randint(0, 23))
        demand = Demand(member_id=member.id, book_id=book.id, quantity=1, created_at=created,
                        status=DemandStatus.OPEN, locale=member.locale)
        made += 1
        if waiting:
            demand.open_key = demand.compute_open_key()
            db.session.add(demand)
            continue
        arrived = created + timedelta(days=rng.randint(4, 18), hours=rng.randint(1, 8))
        arrived = arrived.replace(minute=0, second=0)
        outcome = rng.random()
        demand.notified_at = arrived
        if outcome < 0.55:
            demand.status = DemandStatus.FULFILLED
            demand.fulfilled_at = arrived + timedelta(days=rng.randint(0, 5), hours=3)
        elif outcome < 0.8:
            demand.status = DemandStatus.EXPIRED
            demand.expired_at = arrived + timedelta(days=7)
        elif outcome < 0.9:
            demand.status = DemandStatus.CANCELLED
            demand.cancelled_at = arrived + timedelta(days=2)
        else:
            demand.status = DemandStatus.NOTIFIED
        db.session.add(demand)
        db.session.flush()
        key = (book.id, arrived.replace(hour=9))
        receipt = receipts.get(key)
        if receipt is None:
            receipt = receipts[key] = StockReceipt(
                book_id=book.id, quantity=rng.randint(3, 12), supplier="Demo Distribution",
                reference=f"DN-{len(receipts) + 1:04d}", received_at=key[1],
                actor_id=admin.id if admin else None, held_quantity=0, shelved_quantity=0,
                notified_count=0)
            db.session.add(receipt)
        receipt.notified_count += 1
        receipt.held_quantity += 1
        receipt.shelved_quantity = max(receipt.quantity - receipt.held_quantity, 0)
        mails.append(_mail(
            len(mails), "stock_arrived", member, f"“{book.title}” is back in stock",
            f"Hello {member.name},\n\nthe book you asked us to find, “{book.title}” by "
            f"{book.authors}, has arrived. We hold a copy for you for seven days.\n\n"
            "Bookstation", arrived, dedupe_key=f"stock_arrived:{demand.id}:seed"))
    db.session.flush()
    return made, mails


def _confirmations(now: datetime) -> list[dict]:
    orders = db.session.execute(
        sa.select(Order, Member).join(Member, Member.id == Order.member_id)
        .where(Order.placed_at <= now).order_by(Order.placed_at.desc()).limit(CONFIRMATIONS)
    ).all()
    return [_mail(n, "order_confirmation", member, f"Your order {order.number}",
                  f"Hello {member.name},\n\nthank you for your order {order.number}. We will "
                  "write again when it ships.\n\nBookstation", order.placed_at,
                  dedupe_key=f"order_confirmation:{order.id}:seed")
            for n, (order, member) in enumerate(orders)]


def _campaign(now: datetime, admin: Member) -> tuple[int, int]:
    sent_at = now - timedelta(days=CAMPAIGN_DAYS_AGO)
    campaign = campaigns.create(
        admin, name="Autumn reading picks", subject="Five books for long evenings",
        message="Hello {name},\n\nthe evenings are getting longer: here are a few books our "
                "readers loved this year, picked for you.",
        audience_kind="all", audience_value=None, holdout_rate=Decimal("0.15"))
    campaign.created_at = sent_at - timedelta(days=1)
    report = campaigns.send(campaign, admin, now=sent_at)
    while campaigns.enqueue_pending():
        pass
    outbox_ids = sa.select(CampaignRecipient.outbox_id).where(
        CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.outbox_id.is_not(None))
    db.session.execute(
        sa.update(OutboxMail).where(OutboxMail.id.in_(outbox_ids))
        .values(status=MailStatus.SENT, attempts=1, created_at=sent_at, next_attempt_at=sent_at,
                sent_at=sent_at + timedelta(minutes=3),
                last_attempt_at=sent_at + timedelta(minutes=3))
        .execution_options(synchronize_session=False))
    db.session.flush()
    return report.mailed, report.holdout


def seed_activity(now: datetime) -> ActivityReport:
    began = time.perf_counter()
    rng = random.Random(SEED)
    admin = db.session.scalar(sa.select(Member).where(Member.email == people.ADMIN.email))
    members = list(db.session.scalars(sa.select(Member).where(Member.role == Role.MEMBER)
                                      .order_by(Member.id).limit(250)))
    demands, arrival_mails = _demand_history(rng, now, members, admin)
    confirmations = _confirmations(now)
    rows = arrival_mails + confirmations
    if rows:
        bulk_insert(OutboxMail.__table__, rows)
    mailed = holdout = 0
    if admin is not None and members:
        mailed, holdout = _campaign(now, admin)
    return ActivityReport(demands=demands, arrival_mails=len(arrival_mails),
                          mails=len(rows), campaign_mailed=mailed, campaign_holdout=holdout,
                          seconds=time.perf_counter() - began)
