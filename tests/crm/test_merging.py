"""Merging two customer records (admin only): every row moves to the kept record, audited,
and the other record is erased."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.crm import interactions, merging, tags
from app.feedback.models import Review, ReviewStatus
from app.grades.models import GradeChange, GradeReason
from app.models import Demand, DemandStatus, Interaction, Member, MemberTag, Order, OrderStatus
from tests.factories import (
    make_admin,
    make_book,
    make_demand,
    make_member,
    make_placed_order,
    make_staff,
)
from tests.pages import logged_in_client


def _two_records():
    admin, staff = make_admin(), make_staff()
    keep = make_member(name="Kim Kept", email="kim@example.test")
    other = make_member(name="Kim Twice", email="kim2@example.test")
    wanted, both = make_book(stock_on_hand=0), make_book(stock_on_hand=0)
    make_placed_order(keep, total=Decimal("10.00"))
    for _ in range(2):
        make_placed_order(other, total=Decimal("20.00"), status=OrderStatus.PAID)
    make_demand(member=other, book=wanted)
    make_demand(member=keep, book=both)
    make_demand(member=other, book=both)  # the kept record waits for it already
    interactions.add_interaction(other, staff, "phone", "Called twice", None)
    tags.add_tag(other, "teacher", staff)
    tags.add_tag(other, "vip", staff)
    tags.add_tag(keep, "vip", staff)
    db.session.add(GradeChange(member_id=other.id, to_code="silver", to_name="Silver",
                               reason=GradeReason.ORDER_PAID))
    db.session.add(Review(member_id=other.id, book_id=wanted.id, rating=4,
                          status=ReviewStatus.APPROVED))
    db.session.flush()
    return admin, keep, other


def test_a_merge_keeps_every_row_and_audits_it(ctx):
    admin, keep, other = _two_records()
    other_id = other.id

    moved = merging.merge_members(keep, other, admin)

    assert moved["orders"] == 2 and moved["notes"] == 1 and moved["grade_changes"] == 1
    assert moved["demands"] == 2 and moved["reviews"] == 1 and moved["tags"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(
        Order.member_id == keep.id)) == 3
    open_books = db.session.execute(sa.select(Demand.book_id, Demand.open_key).where(
        Demand.member_id == keep.id, Demand.status == DemandStatus.OPEN)).all()
    assert len(open_books) == 2 and all(key.startswith(f"{keep.id}:") for _, key in open_books)
    assert sorted(db.session.scalars(sa.select(MemberTag.tag_id).where(
        MemberTag.member_id == keep.id))) == sorted(
        db.session.scalars(sa.select(tags.Tag.id)))
    assert db.session.scalar(sa.select(Interaction.member_id)) == keep.id
    kept = db.session.get(Member, keep.id)
    assert kept.order_count == 3 and kept.lifetime_spend == Decimal("40.00")
    gone = db.session.get(Member, other_id)
    assert gone.erased_at is not None and "kim2" not in gone.email
    [entry] = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "customer.merge")).all()
    assert entry.target_id == keep.id and entry.after["merged_member_id"] == other_id
    assert entry.after["orders"] == 2


@pytest.mark.parametrize("who", ["staff", "same", "erased"])
def test_a_merge_is_refused(ctx, who):
    admin, keep, other = _two_records()
    actor = make_staff() if who == "staff" else admin
    if who == "same":
        other = keep
    if who == "erased":
        from app.crm import erasure
        erasure.erase_member(other, admin)
    with pytest.raises(merging.MergeRefused):
        merging.merge_members(keep, other, actor)


def test_only_admins_merge_through_the_page(app, staff_id):
    with app.app_context():
        _admin, keep, other = _two_records()
        make_admin(email="boss@example.test")
        db.session.commit()
        keep_id, other_no = keep.id, other.member_no
    clerk = logged_in_client(app, "clerk@example.test")
    assert clerk.get(f"/admin/customers/{keep_id}/merge").status_code == 403
    assert clerk.post(f"/admin/customers/{keep_id}/merge",
                      data={"other": other_no, "understood": "y"}).status_code == 403
    boss = logged_in_client(app, "boss@example.test")
    unknown = boss.post(f"/admin/customers/{keep_id}/merge",
                        data={"other": "M1999-999999", "understood": "y"})
    assert unknown.status_code == 400
    merged = boss.post(f"/admin/customers/{keep_id}/merge",
                       data={"other": other_no, "understood": "y"})
    assert merged.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(
            Order.member_id == keep_id)) == 3
