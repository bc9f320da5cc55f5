"""Service case pages (issue 20): a member opens a case from an order or "Contact us" and
follows it under "My cases"; a visitor's message opens a case only once the address is
confirmed; a staff reply reaches the customer over real SMTP and their answer threads back
through the signed link; the satisfaction question is answered once."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.mail.sender import deliver_due
from app.models import ContactRequest, Member, OutboxMail
from app.support import cases
from app.support.models import CaseSource, CaseStatus, Direction, SupportCase
from tests.pages import log_in, logged_in_client
from tests.support.conftest import links_in


def _only_case() -> SupportCase:
    return db.session.scalars(sa.select(SupportCase)).one()


def test_the_order_page_offers_help_and_the_case_names_the_order(app, client, people):
    log_in(client, "rita@example.test")

    page = client.get(f"/orders/{people['order']}").get_data(as_text=True)
    assert "Need help with this order?" in page
    assert f"/contact?order={people['order']}" in page
    response = client.post("/contact", data={
        "order_id": str(people["order"]), "case_type": "damaged", "subject": "Torn cover",
        "body": "The cover arrived torn."})

    assert response.status_code == 302
    with app.app_context():
        case = _only_case()
        assert (case.member_id, case.order_id, case.source) == (
            people["rita"], people["order"], CaseSource.MEMBER)
    assert response.headers["Location"] == f"/account/cases/{case.id}"
    mine = client.get("/account/cases").get_data(as_text=True)
    assert "Torn cover" in mine and case.number in mine


def test_someone_elses_order_cannot_be_named(app, client, people):
    with app.app_context():
        from tests.factories import make_member
        make_member(email="eve@example.test")
        db.session.commit()
    log_in(client, "eve@example.test")

    assert client.get(f"/contact?order={people['order']}").status_code == 404
    assert client.post("/contact", data={"order_id": str(people["order"]), "case_type": "other",
                                         "subject": "x", "body": "y"}).status_code == 404
    assert client.get("/contact?order=abc").status_code == 404


def _form_key(page: str) -> str:
    return re.search(r'name="form_key" type="hidden" value="([^"]+)"', page).group(1)


def test_a_members_case_sent_twice_opens_one_case(app, client, people):
    log_in(client, "rita@example.test")
    key = _form_key(client.get("/contact").get_data(as_text=True))
    form = {"case_type": "question", "subject": "Gift cards?", "body": "Do you sell them?",
            "form_key": key}

    first = client.post("/contact", data=form)
    second = client.post("/contact", data=form)  # a double click

    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert _only_case().subject == "Gift cards?"


def test_a_damaged_form_key_is_refused_and_keeps_what_was_typed(app, client, people):
    log_in(client, "rita@example.test")

    response = client.post("/contact", data={"case_type": "question", "subject": "Hi",
                                             "body": "Keep this text", "form_key": "x" * 100})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This form has expired. Please send it again." in page and "Keep this text" in page
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", _form_key(page))  # a new key to send it with
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 0


def test_a_bad_form_is_shown_again_with_what_was_typed(client, people):
    log_in(client, "rita@example.test")

    response = client.post("/contact", data={"case_type": "nonsense", "subject": "",
                                             "body": "Keep this text"})

    assert response.status_code == 400
    assert "Keep this text" in response.get_data(as_text=True)


def test_a_visitors_case_opens_only_once_the_address_is_confirmed(app, client, smtp_inbox):
    response = client.post("/contact", data={
        "name": "Vera Visitor", "email": "Vera@Example.test", "case_type": "question",
        "subject": "Gift cards?", "body": "Do you sell gift cards?"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 0
        deliver_due()
    [message] = smtp_inbox.parsed()
    assert message["To"] == "vera@example.test"
    [link] = links_in(message.get_body(("plain",)).get_content())

    assert client.get(link).status_code == 200  # a mail scanner's GET confirms nothing
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 0
    assert client.post(link).status_code == 302

    with app.app_context():
        case = _only_case()
        assert (case.visitor_email, case.visitor_name, case.source) == (
            "vera@example.test", "Vera Visitor", CaseSource.VISITOR)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactRequest)) == 0
    assert client.post(link).status_code == 404  # used


def test_a_second_message_waits_for_the_first_link(app, client):
    data = {"name": "Vera", "email": "vera@example.test", "case_type": "question",
            "subject": "Hello", "body": "Anyone there?"}
    client.post("/contact", data=data)

    response = client.post("/contact", data=data)

    assert response.status_code == 400
    assert "already sent a confirmation link" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 1


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "CONTACT_RATE_LIMIT": "2 per minute"}])
def test_the_visitor_form_is_rate_limited(app, client):
    codes = [client.post("/contact", data={"name": "V", "email": f"v{i}@example.test",
                                           "case_type": "other", "subject": "s",
                                           "body": "b"}).status_code for i in range(3)]

    assert codes == [302, 302, 429]


def test_a_staff_reply_arrives_by_smtp_and_the_answer_threads_back(app, client, people,
                                                                  smtp_inbox):
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        case = cases.open_case(subject="Torn cover", body="It arrived torn.", member=rita)
        db.session.commit()
        case_id = case.id
    staff = logged_in_client(app, "sam@example.test")

    response = staff.post(f"/admin/cases/{case_id}/reply",
                          data={"body": "Sorry! A new copy is on its way."})
    assert response.status_code == 303
    with app.app_context():
        report = deliver_due()
    assert len(report.sent) == 1
    [message] = smtp_inbox.parsed()
    assert message["To"] == "rita@example.test"
    assert "[C-" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "A new copy is on its way." in text
    [link] = links_in(text)
    assert link in message.get_body(("html",)).get_content()

    page = client.get(link)  # no login: the signed link is enough
    assert page.status_code == 200 and "A new copy is on its way." in page.get_data(as_text=True)
    assert client.post(link, data={"body": "Thanks, but it is the wrong edition."}
                       ).status_code == 302

    with app.app_context():
        case = db.session.get(SupportCase, case_id)
        assert case.status is CaseStatus.OPEN
        assert [(m.direction, m.body) for m in cases.thread(case)][-1] == (
            Direction.IN, "Thanks, but it is the wrong edition.")
    assert "wrong edition" in staff.get(f"/admin/cases/{case_id}").get_data(as_text=True)


def test_a_forged_or_stale_link_opens_nothing(app, client, people):
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        case = cases.open_case(subject="Hi", body="Hello", member=rita)
        token = cases.case_token(case, cases.REPLY_SALT)
        rita.email = "rita.new@example.test"  # the link went to the old address
        db.session.commit()

    assert client.get(f"/cases/reply/{token}").status_code == 400
    assert client.get("/cases/reply/forged").status_code == 400
    assert client.get(f"/cases/satisfaction/{token}").status_code == 400  # another salt


def test_the_satisfaction_question_is_answered_once(app, client, people, smtp_inbox):
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        case = cases.open_case(subject="Hi", body="Hello", member=rita)
        cases.close(case, db.session.get(Member, people["sam"]))
        db.session.commit()
        case_id = case.id
        deliver_due()
    [link] = links_in(smtp_inbox.parsed()[0].get_body(("plain",)).get_content())
    assert "/cases/satisfaction/" in link

    assert client.post(link, data={"score": "9"}).status_code == 400
    assert client.post(link, data={"score": "5"}).status_code == 302
    assert client.post(link, data={"score": "1"}).status_code == 302

    with app.app_context():
        assert db.session.get(SupportCase, case_id).csat_score == 5
    assert "You answered 5 of 5" in client.get(link).get_data(as_text=True)


def test_messages_never_confirmed_are_forgotten(app, client, runner):
    from datetime import timedelta

    from app.core.db import utcnow

    client.post("/contact", data={"name": "Vera", "email": "vera@example.test",
                                  "case_type": "question", "subject": "Hi", "body": "Hello"})
    with app.app_context():
        pending = db.session.scalars(sa.select(ContactRequest)).one()
        pending.created_at = utcnow() - timedelta(hours=49)
        db.session.commit()

    result = runner.invoke(args=["support", "purge-unconfirmed"])

    assert "1 unconfirmed message(s) purged" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ContactRequest)) == 0
