"""Service cases on PostgreSQL (issue 20), where two requests can meet: a detractor's answer
saved by two requests at once still opens one case, two answers to the satisfaction
question at once keep only the first, and a visitor's confirmation button pressed twice at
once opens one case."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.errors import NotFound
from app.core.extensions import db
from app.feedback import reviews
from app.models import AuditEntry, Member, OrderStatus, OutboxMail
from app.support import cases, contact
from app.support.models import CaseSource, CaseType, SupportCase
from tests.factories import make_book, make_member, make_placed_order, make_staff
from tests.helpers import run_at_once

pytestmark = pytest.mark.pg


@pytest.fixture
def rita(pg_app) -> dict:
    with pg_app.app_context():
        member = make_member(email="rita@example.test")
        staff = make_staff(email="sam@example.test")
        order = make_placed_order(member, lines=[(make_book(), 1)],
                                  status=OrderStatus.DELIVERED)
        db.session.commit()
        return {"member": member.id, "order": order.id, "staff": staff.id}


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase))


def test_one_detractor_answer_saved_twice_at_once_opens_one_case(pg_app, rita):
    def save(meet, score):
        with pg_app.app_context():
            meet()
            reviews.save_survey(rita["member"], rita["order"], score)
            db.session.commit()

    with pg_app.app_context():
        reviews.save_survey(rita["member"], rita["order"], 8)  # a passive: no case yet
        db.session.commit()
    errors = run_at_once(save, [(3,), (2,)])

    assert not errors, errors
    with pg_app.app_context():
        assert _count() == 1


def test_two_requests_opening_the_same_automatic_case_at_once_make_one(pg_app, rita):
    opened = []

    def open_it(meet):
        with pg_app.app_context():
            member = db.session.get(Member, rita["member"])
            meet()
            case = cases.open_automatic_case(CaseSource.NPS, "42", member, "Low score", "2/10")
            db.session.commit()
            opened.append(case.id)

    errors = run_at_once(open_it, [(), ()])

    assert not errors, errors
    with pg_app.app_context():
        assert _count() == 1 and len(set(opened)) == 1


def test_two_satisfaction_answers_at_once_keep_one(pg_app, rita):
    with pg_app.app_context():
        case = cases.open_case(subject="Hi", body="Hello",
                               member=db.session.get(Member, rita["member"]))
        cases.close(case, db.session.get(Member, rita["staff"]))
        db.session.commit()
        case_id = case.id
    outcomes = []

    def answer(meet, score):
        with pg_app.app_context():
            case = db.session.get(SupportCase, case_id)
            meet()
            try:
                cases.answer_csat(case, score)
                db.session.commit()
                outcomes.append(score)
            except cases.AlreadyAnswered:
                db.session.rollback()
                outcomes.append("refused")

    errors = run_at_once(answer, [(5,), (1,)])

    assert not errors, errors
    with pg_app.app_context():
        kept = db.session.get(SupportCase, case_id).csat_score
    assert sorted(outcomes, key=str) == sorted([kept, "refused"], key=str)


def test_a_contact_link_confirmed_twice_at_once_opens_one_case(pg_app):
    with pg_app.test_request_context():
        contact.request_contact("Vera", "vera@example.test", CaseType.QUESTION, "Hi", "Hello")
        db.session.commit()
        mail = db.session.scalar(sa.select(OutboxMail)
                                 .where(OutboxMail.kind == "contact_confirm"))
        token = re.search(r"/contact/confirm/(\S+)", mail.body_text).group(1)
    outcomes = []

    def confirm(meet):
        with pg_app.test_request_context():
            contact.pending_for_token(token)  # both pages saw the waiting message
            meet()
            try:
                contact.confirm_contact(token)
                db.session.commit()
                outcomes.append("opened")
            except NotFound:
                db.session.rollback()
                outcomes.append("link used")

    errors = run_at_once(confirm, [(), ()])

    assert not errors, errors
    assert sorted(outcomes) == ["link used", "opened"]
    with pg_app.app_context():
        assert _count() == 1


def _closing_race(pg_app, rita, close_one) -> tuple[list, list]:
    with pg_app.app_context():
        tom = make_staff(email="tom@example.test")
        case = cases.open_case(subject="Hi", body="Hello",
                               member=db.session.get(Member, rita["member"]))
        db.session.commit()
        case_id, staff_ids = case.id, (rita["staff"], tom.id)
    outcomes = []

    def work(meet, how, staff_id):
        with pg_app.test_request_context():
            case = db.session.get(SupportCase, case_id)  # both read it open
            staff = db.session.get(Member, staff_id)
            meet()
            try:
                outcomes.append(close_one(how, case, staff))
                db.session.commit()
            except cases.CaseClosed as exc:
                db.session.rollback()
                outcomes.append(exc.message)

    errors = run_at_once(work, [("single", staff_ids[0]), ("second", staff_ids[1])])
    with pg_app.app_context():
        assert db.session.get(SupportCase, case_id).status.value == "closed"
        mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                                  .where(OutboxMail.kind == "case_csat"))
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert mails == 1 and actions == ["case.close"]
    return errors, outcomes


def test_two_staff_closing_one_case_at_once_close_it_once(pg_app, rita):
    def close_one(how, case, staff):
        cases.close(case, staff)
        return "closed"

    errors, outcomes = _closing_race(pg_app, rita, close_one)

    assert not errors, errors
    assert sorted(outcomes) == ["This case is already closed.", "closed"]


def test_a_bulk_close_and_a_single_close_at_once_close_it_once(pg_app, rita):
    def close_one(how, case, staff):
        if how == "single":
            cases.close(case, staff)
            return 1
        return cases.bulk_close([case.id], staff)

    errors, outcomes = _closing_race(pg_app, rita, close_one)

    assert not errors, errors
    assert sorted(outcomes, key=str) in ([0, 1], [1, "This case is already closed."])


def test_the_same_forms_sent_twice_at_once_open_one_case_and_send_one_reply(pg_app, rita):
    with pg_app.app_context():
        staff_case = cases.open_case(subject="Hi", body="Hello",
                                     member=db.session.get(Member, rita["member"]))
        db.session.commit()
        staff_case_id = staff_case.id
    case_key, reply_key = cases.new_form_key(), cases.new_form_key()
    results = []

    def send(meet):
        with pg_app.test_request_context():
            member = db.session.get(Member, rita["member"])
            sam = db.session.get(Member, rita["staff"])
            replied_to = db.session.get(SupportCase, staff_case_id)
            meet()
            case = cases.open_case(subject="Gift cards?", body="Do you sell them?",
                                   member=member, form_key=case_key)
            message = cases.reply(replied_to, sam, "Yes, we do.", form_key=reply_key)
            db.session.commit()
            results.append((case.id, message.id))

    errors = run_at_once(send, [(), ()])

    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1]
    with pg_app.app_context():
        assert _count() == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                                 .where(OutboxMail.kind == "case_reply")) == 1


def test_a_customers_answer_and_a_close_at_once_leave_the_case_closed(pg_app, rita):
    with pg_app.app_context():
        case = cases.open_case(subject="Hi", body="Hello",
                               member=db.session.get(Member, rita["member"]))
        cases.reply(case, db.session.get(Member, rita["staff"]), "Does this help?")
        db.session.commit()
        case_id = case.id
    outcomes = []

    def work(meet, who):
        with pg_app.test_request_context():
            case = db.session.get(SupportCase, case_id)  # both read it waiting
            staff = db.session.get(Member, rita["staff"])
            meet()
            try:
                if who == "staff":
                    cases.close(case, staff)
                else:
                    cases.customer_reply(case, "Not really")
                db.session.commit()
                outcomes.append(who)
            except cases.CaseClosed:
                db.session.rollback()
                outcomes.append("answer refused")

    errors = run_at_once(work, [("staff",), ("customer",)])

    assert not errors, errors
    with pg_app.app_context():
        case = db.session.get(SupportCase, case_id)
        assert case.status.value == "closed" and case.closed_at is not None
    assert "staff" in outcomes


def test_an_answer_to_a_case_closed_since_it_was_read_is_refused(pg_app, rita):
    with pg_app.app_context():
        case = cases.open_case(subject="Hi", body="Hello",
                               member=db.session.get(Member, rita["member"]))
        cases.reply(case, db.session.get(Member, rita["staff"]), "Does this help?")
        db.session.commit()
        case_id = case.id
    with pg_app.test_request_context():
        read = db.session.get(SupportCase, case_id)  # the customer's page: waiting
        with pg_app.app_context():  # meanwhile staff close it (a session of its own)
            cases.close(db.session.get(SupportCase, case_id),
                        db.session.get(Member, rita["staff"]))
            db.session.commit()

        with pytest.raises(cases.CaseClosed):
            cases.customer_reply(read, "Not really")
        db.session.rollback()
    with pg_app.app_context():
        assert db.session.get(SupportCase, case_id).status.value == "closed"
