"""The customer's story by sale phase: one timeline, newest first, filtered by phase and kind,
paginated, in a fixed number of statements; other features add their kinds to the registry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.crm import interactions, timeline
from app.crm.timeline import TimelineSource, columns, register_timeline_source
from app.feedback.models import Review, ReviewStatus, SurveyResponse
from app.grades.models import GradeChange, GradeReason
from app.models import Member, OrderChannel, OrderStatus, OutboxMail
from tests.factories import make_book, make_demand, make_member, make_placed_order, make_staff
from tests.helpers import counting_statements
from tests.pages import logged_in_client


def _story(member: Member, staff: Member) -> dict:
    """One of each kind, a day apart, oldest first."""
    start = utcnow() - timedelta(days=30)

    def day(n: int):
        return start + timedelta(days=n)

    book = make_book(title="Dune")
    make_demand(member=member, book=book, created_at=day(0))
    db.session.add(OutboxMail(kind="x", to_email=member.email, member_id=member.id,
                              subject="Welcome", body_text="b", message_id="<w@x>",
                              created_at=day(1)))
    order = make_placed_order(member, lines=[(book, 1)], placed_at=day(2),
                              channel=OrderChannel.PHONE, placed_by_id=staff.id,
                              status=OrderStatus.DELIVERED, paid_at=day(3),
                              delivered_at=day(5))
    call = interactions.add_interaction(member, staff, "phone", "Took the order")
    call.created_at = day(2) + timedelta(minutes=1)
    db.session.add(Review(member_id=member.id, book_id=book.id, rating=5, body="Great",
                          status=ReviewStatus.APPROVED, created_at=day(6)))
    db.session.add(SurveyResponse(member_id=member.id, order_id=order.id, score=9,
                                  created_at=day(7)))
    db.session.add(GradeChange(member_id=member.id, from_code="regular", from_name="Regular",
                               to_code="silver", to_name="Silver", at=day(8),
                               reason=GradeReason.ORDER_PAID))
    db.session.flush()
    return {"order": order}


def test_the_story_is_grouped_by_phase_newest_first(ctx):
    staff, member = make_staff(), make_member()
    made = _story(member, staff)

    page = timeline.timeline(member.id)

    kinds = [(e.phase, e.kind) for e in page.events]
    assert kinds == [("after", "grade"), ("after", "nps"), ("after", "review"),
                     ("after", "delivery"), ("during", "payment"), ("during", "call"),
                     ("during", "order"), ("before", "mail"), ("before", "demand")]
    order_event = next(e for e in page.events if e.kind == "order")
    assert order_event.title == made["order"].number
    assert order_event.detail == "on the phone"
    assert order_event.amount == made["order"].total
    with ctx.test_request_context():
        assert order_event.url == f"/admin/orders/{made['order'].id}"
    grade = page.events[0]
    assert grade.title == "Regular → Silver"


def test_filters_by_phase_and_kind(ctx):
    staff, member = make_staff(), make_member()
    _story(member, staff)
    during = timeline.timeline(member.id, phase="during")
    assert {e.phase for e in during.events} == {"during"} and during.total == 3
    calls = timeline.timeline(member.id, kind="call")
    assert [e.kind for e in calls.events] == ["call"]
    assert timeline.timeline(member.id, phase="before", kind="call").total == 0


def test_pages_hold_per_page_events_and_the_last_page_the_rest(ctx):
    staff, member = make_staff(), make_member()
    for n in range(7):
        note = interactions.add_interaction(member, staff, "phone", f"call {n}")
        note.created_at = utcnow() - timedelta(hours=n)
    db.session.flush()
    first = timeline.timeline(member.id, per_page=3)
    last = timeline.timeline(member.id, per_page=3, page=3)
    beyond = timeline.timeline(member.id, per_page=3, page=99)
    assert (first.total, first.pages) == (7, 3)
    assert [e.title for e in first.events] == ["call 0", "call 1", "call 2"]
    assert [e.title for e in last.events] == ["call 6"] and not last.has_next
    assert beyond.page == 3


def test_another_feature_adds_its_kind_to_the_registry(ctx):
    register_timeline_source(TimelineSource(
        "test_return", "after", "Return (test)",
        lambda m: sa.select(*columns(Member.joined_at, Member.id, sa.literal("A return")))
        .where(Member.id == m)))
    try:
        member = make_member()
        page = timeline.timeline(member.id, kind="test_return")
        assert [(e.phase, e.title) for e in page.events] == [("after", "A return")]
    finally:
        timeline._SOURCES.pop("test_return")


def test_the_story_takes_two_statements_however_long_it_is(app):
    with app.app_context():
        staff, member = make_staff(), make_member()
        for _ in range(3):
            _story(member, staff)
        db.session.commit()
        member_id = member.id
    with counting_statements(app) as statements, app.app_context():
        timeline.timeline(member_id)
    assert len(statements) == 2


def test_the_record_opens_on_the_story_with_its_filters(app, staff_id):
    with app.app_context():
        staff, member = db.session.get(Member, staff_id), make_member(name="Tess Timeline")
        made = _story(member, staff)
        db.session.commit()
        member_id, number = member.id, made["order"].number
    agent = logged_in_client(app, "clerk@example.test")
    html = agent.get(f"/admin/customers/{member_id}").get_data(as_text=True)
    assert html.index('id="timeline"') < html.index('id="interactions"')
    assert html.index('data-testid="lifetime-spend"') < html.index('id="timeline"')
    during = agent.get(f"/admin/customers/{member_id}?phase=during").get_data(as_text=True)
    assert number in during and 'data-phase="before"' not in during
    odd = agent.get(f"/admin/customers/{member_id}?phase=nope&kind=%3Cx%3E&tpage=zz")
    assert odd.status_code == 200


def test_money_on_the_story_is_exact(ctx):
    member = make_member()
    book = make_book(price=Decimal("19.99"))
    make_placed_order(member, lines=[(book, 3)])
    [event] = timeline.timeline(member.id, kind="order").events
    assert event.amount == Decimal("69.97")


def test_the_story_reads_alike_on_postgresql(pg_app):
    with pg_app.app_context():
        staff, member = make_staff(), make_member()
        made = _story(member, staff)
        db.session.commit()
        page = timeline.timeline(member.id)
        assert [e.kind for e in page.events] == ["grade", "nps", "review", "delivery",
                                                 "payment", "call", "order", "mail",
                                                 "demand"]
        assert page.events[0].title == "Regular → Silver"
        order_event = next(e for e in page.events if e.kind == "order")
        assert (order_event.title, order_event.amount) == (made["order"].number,
                                                           made["order"].total)
        assert timeline.timeline(member.id, phase="after", per_page=2, page=2).total == 4


def test_returns_refunds_and_cases_are_told_after_the_sale(app, staff_id):
    from app.returns.refunds import refund_order
    from app.returns.requests import request_return
    from app.support.cases import open_case
    from tests.returns.support import paid_order

    with app.test_request_context():
        staff = db.session.get(Member, staff_id)
        member = make_member()
        order = paid_order(member)
        line = order.lines[0]
        request_return(order, member, {line.id: 1}, "damaged", "Torn cover")
        refund_order(order, goodwill=Decimal("5.00"), actor=staff, note="Sorry")
        open_case(subject="Where is my refund?", body="Hello", member=member, order=order)
        db.session.flush()

        story = timeline.timeline(member.id, phase="after")

    shown = {event.kind: event for event in story.events}
    assert {"return", "refund", "case"} <= set(shown)
    assert shown["return"].title == order.number
    assert shown["return"].detail == "Return requested · The book arrived damaged"
    assert shown["refund"].amount == Decimal("5.00")
    assert shown["refund"].title == order.number
    assert shown["case"].title == "Where is my refund?"
