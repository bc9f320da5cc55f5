"""CRM demo data: order figures, phone keys, and a few tags and interaction notes.

`decorate` runs at the end of the seed: it fills the denormalised customer columns the bulk
inserts left empty (`phone_key`, the order figures) and gives the demo reader and a handful of
generated customers tags, notes and a few sign-ins, so the customer record and its timeline
have something to show. Flushes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.core.extensions import db
from app.crm import customers
from app.crm.models import Interaction, InteractionKind, MemberTag, Tag
from app.membership.models import Member, MemberSignIn, Role
from app.seed import people

TAGS = ("teacher", "wholesale", "book club", "VIP", "prefers phone")
NOTES = (
    (InteractionKind.PHONE, "Asked when the next Liu Cixin translation arrives."),
    (InteractionKind.EMAIL, "Wants an invoice with the school's tax number."),
    (InteractionKind.VISIT, "Came by the shop; interested in the reading group."),
    (InteractionKind.COMPLAINT, "Parcel arrived with a dented corner; offered a voucher."),
    (InteractionKind.COMPLIMENT, "Thanked us for the quick delivery."),
)
DECORATED = 40  # generated customers who get tags, notes and sign-ins
BROWSERS = ("Firefox/Linux", "Safari/iPhone", "Chrome/Windows", "Chrome/Android")


def _tag(name: str) -> Tag:
    key = name.casefold()
    tag = db.session.scalar(sa.select(Tag).where(Tag.key == key))
    if tag is None:
        tag = Tag(name=name, key=key)
        db.session.add(tag)
        db.session.flush()
    return tag


def decorate(now: datetime, rng: random.Random | None = None) -> None:
    rng = rng or random.Random(4)
    customers.backfill_phone_keys()
    customers.refresh_all_order_stats()
    staff = db.session.scalar(sa.select(Member).where(Member.email == people.STAFF.email))
    tags = [_tag(name) for name in TAGS]
    reader = db.session.scalar(sa.select(Member).where(Member.email == people.READER.email))
    chosen = list(db.session.scalars(
        sa.select(Member.id).where(Member.role == Role.MEMBER).order_by(Member.id)
        .limit(DECORATED * 5)))
    ids = rng.sample(chosen, min(DECORATED, len(chosen)))
    if reader is not None and reader.id not in ids:
        ids.insert(0, reader.id)
    existing = set(db.session.execute(sa.select(MemberTag.member_id, MemberTag.tag_id)).all())
    for n, member_id in enumerate(ids):
        for tag in rng.sample(tags, 1 + (n % 2)):
            if (member_id, tag.id) not in existing:
                db.session.add(MemberTag(member_id=member_id, tag_id=tag.id, added_at=now,
                                         added_by_id=staff.id if staff else None))
        kind, body = NOTES[n % len(NOTES)]
        follow_up = (now + timedelta(days=n % 3 - 1)).date() if n % 4 == 0 else None
        db.session.add(Interaction(member_id=member_id, staff_id=staff.id if staff else None,
                                   kind=kind, body=body,
                                   created_at=now - timedelta(days=1 + n % 20, hours=n % 7),
                                   follow_up_on=follow_up))
    signed_in = set(db.session.scalars(sa.select(MemberSignIn.member_id).where(
        MemberSignIn.member_id.in_(ids))))
    for n, member_id in enumerate(ids):
        if member_id not in signed_in:
            db.session.add_all(MemberSignIn(
                member_id=member_id, way="password", browser=BROWSERS[(n + k) % len(BROWSERS)],
                signed_in_at=now - timedelta(days=2 + 9 * k + n % 5, hours=n % 11))
                for k in range(3))
    db.session.flush()
