"""A customer's service cases (issue 20) on their record, in their data export and gone from
the cases when they are erased (their visitor cases by the same address too)."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.extensions import db
from app.crm import erasure
from app.crm.member_export import member_data
from app.models import ContactRequest, Member, Order
from app.support import cases
from app.support.models import CaseMessage, CaseType, SupportCase
from tests.factories import make_admin
from tests.pages import logged_in_client


def _cases_of_rita(people) -> tuple[int, int]:
    rita = db.session.get(Member, people["rita"])
    own = cases.open_case(subject="Torn cover", body="The cover is torn, call 555-0101.",
                          member=rita, order=db.session.get(Order, people["order"]),
                          case_type=CaseType.DAMAGED)
    cases.reply(own, db.session.get(Member, people["sam"]), "Sorry, Rita!")
    as_visitor = cases.open_case(subject="Gift cards?", body="Do you sell them?",
                                 visitor_email="RITA@example.test", visitor_name="Rita R.")
    db.session.add(ContactRequest(email="rita@example.test", name="Rita", subject="Hello",
                                  body="Anyone?", case_type=CaseType.OTHER,
                                  token_hash="1" * 64))
    db.session.commit()
    return own.id, as_visitor.id


def test_the_customer_record_shows_their_cases(app, people):
    with app.app_context():
        own, as_visitor = _cases_of_rita(people)
    staff = logged_in_client(app, "sam@example.test")

    page = staff.get(f"/admin/customers/{people['rita']}").get_data(as_text=True)

    assert 'id="panel-cases"' in page
    assert "Torn cover" in page and "Gift cards?" in page
    assert f"/admin/cases/{own}" in page and f"/admin/cases/{as_visitor}" in page


def test_the_export_holds_every_case_with_its_thread(ctx, people):
    _cases_of_rita(people)

    data = member_data(db.session.get(Member, people["rita"]))

    threads = [[m["text"] for m in c["messages"]] for c in data["service_cases"]]
    assert threads == [["The cover is torn, call 555-0101.", "Sorry, Rita!"],
                       ["Do you sell them?"]]
    assert data["service_cases"][1]["email"] == "RITA@example.test"
    assert data["contact_requests"][0]["text"] == "Anyone?"


def test_erasure_wipes_the_words_names_and_addresses_of_their_cases(ctx, people):
    own, as_visitor = _cases_of_rita(people)
    rita = db.session.get(Member, people["rita"])

    erasure.erase_member(rita, make_admin())
    db.session.commit()
    db.session.expire_all()

    for case_id in (own, as_visitor):
        case = db.session.get(SupportCase, case_id)
        assert case.subject == cases.ERASED_TEXT
        assert {m.body for m in case.messages} == {cases.ERASED_TEXT}
    visitor_case = db.session.get(SupportCase, as_visitor)
    assert visitor_case.visitor_email == erasure.erased_email(rita)
    assert visitor_case.visitor_name == cases.ERASED_NAME
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactRequest)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseMessage)
                             .where(CaseMessage.body.contains("555"))) == 0
