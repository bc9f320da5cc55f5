"""Tags on customers: free labels such as "teacher" or "wholesale" that staff put on
a customer record and the customer list filters by. Tags are one per folded name ("Teacher" and
"teacher" are one tag); a tag no customer carries any longer stays for the filter's choices.
Every change is audited. Flushes, never commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.core.text import fold
from app.crm.models import MemberTag, Tag
from app.membership.models import Member

NAME_MAX_LENGTH = 40


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Type a tag, e.g. teacher."))
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(_("A tag can be at most %(max)d characters.", max=NAME_MAX_LENGTH))
    return name


def tag_key(name: str) -> str:
    return fold(name)[:NAME_MAX_LENGTH]


def all_tags() -> list[Tag]:
    return list(db.session.scalars(sa.select(Tag).order_by(Tag.key)))


def find_tag(name: str) -> Tag | None:
    key = tag_key(name or "")
    return db.session.scalar(sa.select(Tag).where(Tag.key == key)) if key else None


def get_or_create(name: str) -> Tag:
    name = clean_name(name)
    tag = find_tag(name)
    if tag is not None:
        return tag
    tag = Tag(name=name, key=tag_key(name))
    try:
        with db.session.begin_nested():
            db.session.add(tag)
    except IntegrityError:  # created by someone else meanwhile
        tag = find_tag(name)
        if tag is None:
            raise
    return tag


def tag_names(member: Member) -> list[str]:
    return sorted(db.session.scalars(
        sa.select(Tag.name).join(MemberTag, MemberTag.tag_id == Tag.id)
        .where(MemberTag.member_id == member.id)))


def add_tag(member: Member, name: str, actor: Member) -> Tag:
    """Put the tag on the member (created when new); already there is not an error."""
    if member.erased_at is not None:
        raise InvalidInput(_("This account was erased on request; it cannot be changed."))
    tag = get_or_create(name)
    if db.session.get(MemberTag, (member.id, tag.id)) is not None:
        return tag
    before = tag_names(member)
    db.session.add(MemberTag(member_id=member.id, tag_id=tag.id, added_at=utcnow(),
                             added_by_id=actor.id))
    db.session.flush()
    audit.record(actor.id, actor.email, "customer.tag", member, before={"tags": before},
                 after={"tags": tag_names(member)}, summary=f"Tag {tag.name} added")
    return tag


def remove_tag(member: Member, tag_id: int, actor: Member) -> Tag:
    link = db.session.get(MemberTag, (member.id, tag_id))
    if link is None:
        raise NotFound(_("This customer does not have that tag."))
    tag = link.tag
    before = tag_names(member)
    db.session.delete(link)
    db.session.flush()
    audit.record(actor.id, actor.email, "customer.untag", member, before={"tags": before},
                 after={"tags": tag_names(member)}, summary=f"Tag {tag.name} removed")
    return tag
