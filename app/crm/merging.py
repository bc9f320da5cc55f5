"""Merging two customer records (admin only): one person with two accounts.

Everything that tells the relationship moves to the record kept: orders, demands (an open
demand for a book the kept record waits for already is cancelled instead: one per reader and
book), notes and tasks, tags, grade history, reviews (unless the kept record reviewed the same
book), satisfaction answers, the mails sent, the sign-in history and the places on campaigns'
chosen lists (unless the kept record is on the same list). The kept record's order figures
are counted again and its grade recomputed; the merge is audited on both records with what
moved; then the other record is erased (app.crm.erasure): its personal data is gone, its
account closed. Flushes, never commits.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app.campaigns.models import CampaignListMember
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError
from app.core.extensions import db
from app.crm import customers, erasure
from app.crm.models import Interaction, MemberTag
from app.demand.cancelling import cancel_demand
from app.demand.models import Demand, DemandStatus
from app.feedback.models import Review, SurveyResponse
from app.grades.member_regrade import regrade_member
from app.grades.models import GradeChange, GradeReason
from app.mail.models import OutboxMail
from app.membership.models import Member, MemberSignIn, Role
from app.ordering.models import Order


class MergeRefused(DomainError):
    pass


def _move(model, keep_id: int, other_id: int, *extra) -> int:
    result = db.session.execute(
        sa.update(model).where(model.member_id == other_id, *extra)
        .values(member_id=keep_id).execution_options(synchronize_session=False))
    return result.rowcount or 0


def merge_members(keep: Member, other: Member, actor: Member) -> dict[str, int]:
    """Move `other`'s history to `keep` and erase `other`; returns how many rows moved, by
    kind. MergeRefused for the same record, an erased one, a staff account or a non-admin."""
    if not actor.has_role(Role.ADMIN):
        raise MergeRefused(_("Only an admin may merge customer records."))
    if keep.id == other.id:
        raise MergeRefused(_("Choose two different records."))
    if keep.erased_at is not None or other.erased_at is not None:
        raise MergeRefused(_("An erased record cannot be merged."))
    if keep.role != Role.MEMBER or other.role != Role.MEMBER:
        raise MergeRefused(_("Staff accounts are not merged."))
    now = utcnow()
    moved: dict[str, int] = {}

    # Demands: one open demand per reader and book.
    kept_books = set(db.session.scalars(sa.select(Demand.book_id).where(
        Demand.member_id == keep.id, Demand.status == DemandStatus.OPEN)))
    for demand in db.session.scalars(sa.select(Demand).where(
            Demand.member_id == other.id, Demand.status == DemandStatus.OPEN)).all():
        if demand.book_id in kept_books:
            cancel_demand(demand, now)
    db.session.flush()
    moved["demands"] = _move(Demand, keep.id, other.id)
    for demand in db.session.scalars(sa.select(Demand).where(
            Demand.member_id == keep.id, Demand.status == DemandStatus.OPEN)
            .execution_options(populate_existing=True)).all():
        demand.open_key = demand.compute_open_key()
    db.session.flush()

    moved["orders"] = _move(Order, keep.id, other.id)
    moved["notes"] = _move(Interaction, keep.id, other.id)
    moved["grade_changes"] = _move(GradeChange, keep.id, other.id)
    moved["survey_answers"] = _move(SurveyResponse, keep.id, other.id)
    moved["mails"] = _move(OutboxMail, keep.id, other.id)
    moved["sign_ins"] = _move(MemberSignIn, keep.id, other.id)
    listed = sa.select(CampaignListMember.campaign_id).where(
        CampaignListMember.member_id == keep.id)
    moved["campaign_lists"] = _move(CampaignListMember, keep.id, other.id,
                                    CampaignListMember.campaign_id.not_in(listed))
    reviewed = sa.select(Review.book_id).where(Review.member_id == keep.id)
    moved["reviews"] = _move(Review, keep.id, other.id, Review.book_id.not_in(reviewed))
    kept_tags = sa.select(MemberTag.tag_id).where(MemberTag.member_id == keep.id)
    moved["tags"] = _move(MemberTag, keep.id, other.id, MemberTag.tag_id.not_in(kept_tags))
    db.session.expire_all()

    customers.refresh_order_stats(keep.id)
    customers.refresh_order_stats(other.id)
    regrade_member(keep.id, GradeReason.ADMIN, actor=actor, now=now, notify=False)
    after = {"kept_member_id": keep.id, "merged_member_id": other.id, **moved}
    audit.record(actor.id, actor.email, "customer.merge", target_type="member",
                 target_id=keep.id, after=after,
                 summary=f"Member {other.id} merged into {keep.id}")
    audit.record(actor.id, actor.email, "customer.merged_away", target_type="member",
                 target_id=other.id, after=after,
                 summary=f"Merged into member {keep.id}")
    erasure.erase_member(db.session.get(Member, other.id), actor)
    return moved
