"""Service cases (issue 20): opening, due times from the priority's target, the thread, staff
changes audited, closing once with one satisfaction question, answered once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.models import AuditEntry, Member, Order, OutboxMail
from app.support import cases
from app.support.models import CasePriority, CaseStatus, CaseType, Direction, SupportCase


def _open(people, **overrides) -> SupportCase:
    rita = db.session.get(Member, people["rita"])
    values = {"subject": "Torn cover", "body": "The cover of Dune arrived torn.",
              "case_type": CaseType.DAMAGED, "member": rita,
              "order": db.session.get(Order, people["order"])}
    values.update(overrides)
    return cases.open_case(**values)


def test_a_case_is_due_after_its_prioritys_target_hours(ctx, people):
    now = utcnow()

    normal = _open(people, now=now)
    urgent = _open(people, priority=CasePriority.URGENT, now=now)

    assert normal.due_at == now + timedelta(hours=24)
    assert urgent.due_at == now + timedelta(hours=2)
    assert normal.status is CaseStatus.NEW
    assert [m.direction for m in cases.thread(normal)] == [Direction.IN]


def test_changing_the_priority_moves_the_due_time_and_is_audited(ctx, people):
    case = _open(people)
    sam = db.session.get(Member, people["sam"])

    cases.change_priority(case, sam, CasePriority.HIGH)

    assert case.due_at == case.created_at + timedelta(hours=8)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "case.priority"))
    assert entry.actor_id == sam.id and entry.after["priority"] == "high"


def test_an_order_that_is_not_the_members_own_is_refused(ctx, people):
    other = db.session.get(Member, people["sam"])

    with pytest.raises(cases.NotFound):
        _open(people, member=other)


def test_an_empty_message_is_refused(ctx, people):
    with pytest.raises(cases.InvalidCase):
        _open(people, body="   ")


def test_a_staff_reply_waits_on_the_customer_and_their_answer_reopens_it(ctx, people):
    case = _open(people)
    sam = db.session.get(Member, people["sam"])

    cases.reply(case, sam, "Sorry! A new copy is on its way.")
    assert case.status is CaseStatus.WAITING and case.first_response_at is not None
    first = case.first_response_at
    cases.customer_reply(case, "Thank you, it arrived.")
    cases.reply(case, sam, "Glad to hear it.")

    assert case.first_response_at == first
    mails = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "case_reply")).all()
    assert [m.to_email for m in mails] == ["rita@example.test"] * 2
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["case.reply", "case.reply"]


def test_closing_asks_the_satisfaction_question_once_and_it_is_answered_once(ctx, people):
    case = _open(people)
    sam = db.session.get(Member, people["sam"])

    cases.close(case, sam)
    with pytest.raises(cases.CaseClosed, match="already closed"):
        cases.close(case, sam)  # a second click: refused, nothing mailed or audited again
    assert cases.bulk_close([case.id], sam) == 0
    cases.answer_csat(case, 4)

    with pytest.raises(cases.AlreadyAnswered):
        cases.answer_csat(case, 1)
    assert case.csat_score == 4 and case.status is CaseStatus.CLOSED
    assert case.resolved_at is not None and case.closed_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                             .where(OutboxMail.kind == "case_csat")) == 1
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["case.close"]


def test_a_case_that_leaves_resolved_forgets_when_it_was_resolved(ctx, people):
    case = _open(people)
    sam = db.session.get(Member, people["sam"])

    cases.change_status(case, sam, CaseStatus.RESOLVED)
    resolved = case.resolved_at
    cases.reply(case, sam, "One more thing about your parcel")
    assert case.status is CaseStatus.WAITING and case.resolved_at is None
    cases.change_status(case, sam, CaseStatus.RESOLVED)
    cases.reply(case, sam, "Still looking into it", wait_for_customer=False)
    assert case.status is CaseStatus.OPEN and case.resolved_at is None
    cases.change_status(case, sam, CaseStatus.RESOLVED)
    cases.customer_reply(case, "It came back torn again")
    assert case.status is CaseStatus.OPEN and case.resolved_at is None
    final = resolved + timedelta(hours=3)
    cases.close(case, sam, now=final)

    assert case.resolved_at == final and case.closed_at == final  # the final resolution


S = CaseStatus
ALLOWED = {(S.NEW, S.OPEN), (S.NEW, S.WAITING), (S.NEW, S.RESOLVED), (S.NEW, S.CLOSED),
           (S.OPEN, S.WAITING), (S.OPEN, S.RESOLVED), (S.OPEN, S.CLOSED),
           (S.WAITING, S.OPEN), (S.WAITING, S.RESOLVED), (S.WAITING, S.CLOSED),
           (S.RESOLVED, S.OPEN), (S.RESOLVED, S.CLOSED), (S.CLOSED, S.OPEN)}


@pytest.mark.parametrize("start,to", [(a, b) for a in S for b in S])
def test_staff_move_a_case_only_along_sensible_steps(ctx, people, start, to):
    case = _open(people)
    sam = db.session.get(Member, people["sam"])
    path = {S.NEW: [], S.OPEN: [S.OPEN], S.WAITING: [S.WAITING], S.RESOLVED: [S.RESOLVED],
            S.CLOSED: [S.CLOSED]}[start]
    for step in path:
        cases.change_status(case, sam, step)

    if (start, to) in ALLOWED:
        cases.change_status(case, sam, to)
        assert case.status is to
    else:
        with pytest.raises((cases.InvalidCase, cases.CaseClosed)) as refused:
            cases.change_status(case, sam, to)
        assert case.status is start
        assert refused.value.message.startswith(("A case cannot go from", "This case is already"))


def test_a_reopened_case_is_open_again_and_is_not_asked_twice(ctx, people):
    case = _open(people)
    sam = db.session.get(Member, people["sam"])
    cases.close(case, sam)

    cases.change_status(case, sam, CaseStatus.OPEN)
    assert case.status is CaseStatus.OPEN and case.closed_at is None and case.resolved_at is None
    cases.customer_reply(case, "Thanks for looking again")
    cases.close(case, sam)

    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                             .where(OutboxMail.kind == "case_csat")) == 1
    summaries = db.session.scalars(sa.select(AuditEntry.summary).order_by(AuditEntry.id)).all()
    assert summaries[1].endswith("reopened")


def test_a_closed_case_takes_no_more_messages(ctx, people):
    case = _open(people)
    cases.close(case, db.session.get(Member, people["sam"]))

    with pytest.raises(cases.CaseClosed):
        cases.customer_reply(case, "One more thing")


def test_only_staff_may_be_assigned_and_assigning_is_audited(ctx, people):
    case = _open(people)
    sam = db.session.get(Member, people["sam"])

    with pytest.raises(cases.InvalidCase):
        cases.assign(case, sam, people["rita"])
    cases.assign(case, sam, people["tom"])

    assert case.assignee_id == people["tom"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "case.assign"))
    assert entry.before == {"assignee_id": None} and entry.after == {"assignee_id": people["tom"]}


def test_the_reply_mail_is_written_in_the_customers_language(ctx, people):
    rita = db.session.get(Member, people["rita"])
    rita.locale = "zh_Hans"
    visitor_case = cases.open_case(subject="Hi", body="Hello", visitor_email="v@example.test",
                                   visitor_name="Vera", locale="en")
    case = _open(people)
    sam = db.session.get(Member, people["sam"])

    cases.reply(case, sam, "On its way")
    cases.reply(visitor_case, sam, "Yes")

    bodies = dict(db.session.execute(sa.select(OutboxMail.to_email, OutboxMail.body_text)
                                     .where(OutboxMail.kind == "case_reply")).all())
    assert bodies["rita@example.test"].startswith("Rita Reader，您好：")
    assert bodies["v@example.test"].startswith("Hello Vera,")
