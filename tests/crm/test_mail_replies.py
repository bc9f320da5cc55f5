"""Answering a mail written from the customer's record (issue 21): the mail carries a signed
link; the customer's first answer opens one service case for them, assigned to the member of
staff who wrote, with the staff's mail and the answer as its thread; later answers join that
case; the case shows on the record (mail list, cases panel, story) and in the staff's queue.
A damaged, forged, expired or stale link opens nothing, an erased customer's link answers
politely, and the page is rate limited, CSRF-protected and in both languages.

The whole story runs on PostgreSQL too (tests/crm/test_mail_replies_pg.py)."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app.core.db import utcnow
from app.core.extensions import db
from app.crm import customer_mail, mail_replies, timeline
from app.crm.erasure import erase_member
from app.crm.member_export import member_data
from app.crm.merging import merge_members
from app.mail.sender import deliver_due
from app.models import Member, OutboxMail
from app.support import cases
from app.support.models import (
    MESSAGE_MAX,
    CaseSource,
    CaseStatus,
    Direction,
    SupportCase,
)
from tests.factories import make_admin, make_member, make_staff
from tests.pages import logged_in_client, token_in

LINK = re.compile(r"http://localhost(/replies/\S+)")
FORM_KEY = re.compile(r'name="form_key"[^>]*value="([^"]+)"')
SUBJECT = "Your copy of Dune"
WRITTEN = "Dear {name},\n\nYour copy of Dune is on its way.\n\n-- a line of dashes in the text"


@pytest.fixture
def people(app) -> dict:
    """Rita (a customer), Sam (staff, who writes to her) and Bea (an admin); ids."""
    return make_people(app)


def make_people(app) -> dict:
    with app.app_context():
        rita = make_member(email="rita@example.test", name="Rita Reader")
        sam = make_staff(email="sam@example.test", name="Sam Support")
        bea = make_admin(email="bea@example.test", name="Bea Boss")
        db.session.commit()
        return {"rita": rita.id, "sam": sam.id, "bea": bea.id}


def cases_of(member_id: int) -> list[SupportCase]:
    return list(db.session.scalars(sa.select(SupportCase).where(
        SupportCase.member_id == member_id).order_by(SupportCase.id)))


def thread(case: SupportCase) -> list[tuple]:
    return [(m.direction, m.author_id, m.body) for m in cases.thread(case)]


def write_from_the_record(app, people, subject=SUBJECT, body=WRITTEN) -> tuple:
    """Sam writes to Rita through the record's compose form; returns his client."""
    sam = logged_in_client(app, "sam@example.test")
    page = sam.get(f"/admin/customers/{people['rita']}/write").get_data(as_text=True)
    sent = sam.post(f"/admin/customers/{people['rita']}/write", data={
        "subject": subject, "body": body, "form_key": FORM_KEY.search(page).group(1)})
    assert sent.status_code == 302
    return sam


def send_mail(app, people, subject=SUBJECT, body=WRITTEN) -> str:
    """A mail from Sam to Rita, queued by the service; returns the link's path."""
    with app.app_context():
        mail = customer_mail.send_to_customer(
            db.session.get(Member, people["rita"]), db.session.get(Member, people["sam"]),
            subject=subject, body=body)
        db.session.commit()
        return LINK.search(mail.body_text).group(1)


def answer_form(client, link: str, body: str) -> dict:
    page = client.get(link).get_data(as_text=True)
    return {"body": body, "form_key": FORM_KEY.search(page).group(1)}


def the_whole_story(app, inbox, people) -> None:
    """Staff write from the record; the mail reaches a real SMTP server with the link; the
    answer opens one case for the writer with both messages, shown on the record and in
    the writer's queue; a second answer joins the same case and reopens it."""
    sam = write_from_the_record(app, people)
    with app.app_context():
        report = deliver_due()
    assert len(report.sent) == 1
    [message] = inbox.parsed()
    assert message["To"] == "rita@example.test" and message["Subject"] == SUBJECT
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    [link] = LINK.findall(text)
    assert f"http://localhost{link}" in message.get_body(("html",)).get_content()
    written = WRITTEN.replace("{name}", "Rita Reader")
    assert written in text

    visitor = app.test_client()  # no login: the signed link is enough
    page = visitor.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and SUBJECT in html and "Your copy of Dune is on" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    answered = visitor.post(link, data=answer_form(visitor, link, "Thank you! Gift-wrapped?"))
    assert answered.status_code == 302
    assert "C-" in visitor.get(link).get_data(as_text=True)

    with app.app_context():
        [case] = cases_of(people["rita"])
        assert (case.source, case.assignee_id, case.status) == (
            CaseSource.RECORD_MAIL, people["sam"], CaseStatus.NEW)
        assert case.subject == f"Re: {SUBJECT}"
        assert thread(case) == [(Direction.OUT, people["sam"], written),
                                (Direction.IN, people["rita"], "Thank you! Gift-wrapped?")]
        [event] = timeline.timeline(people["rita"], kind="case").events
        assert event.title == f"Re: {SUBJECT}"
        case_id, number = case.id, case.number

    record = sam.get(f"/admin/customers/{people['rita']}").get_data(as_text=True)
    assert f'href="/admin/cases/{case_id}" data-testid="mail-answered"' in record
    assert f"Answered: case {number}" in record
    assert record.count(f"Re: {SUBJECT}") >= 2  # the cases panel and the story
    queue = sam.get("/admin/cases?queue=mine").get_data(as_text=True)
    assert number in queue
    assert "Gift-wrapped?" in sam.get(f"/admin/cases/{case_id}").get_data(as_text=True)

    # Sam answers in the case (the case now waits on Rita); her second answer by the same
    # link joins the case and takes it back to open.
    assert sam.post(f"/admin/cases/{case_id}/reply",
                    data={"body": "Yes, with pleasure."}).status_code == 303
    again = visitor.post(link, data=answer_form(visitor, link, "Lovely, thanks."))
    assert again.status_code == 302
    with app.app_context():
        [case] = cases_of(people["rita"])
        assert case.status is CaseStatus.OPEN
        assert [body for _d, _a, body in thread(case)] == [
            written, "Thank you! Gift-wrapped?", "Yes, with pleasure.", "Lovely, thanks."]


# --------------------------------------------------------------------------- the story


def test_the_answer_to_a_mail_from_the_record_opens_one_case_for_its_writer(app, people,
                                                                           smtp_inbox):
    the_whole_story(app, smtp_inbox, people)


def test_the_case_thread_keeps_what_staff_wrote_without_signature_or_link(ctx):
    rita, sam = make_member(), make_staff(name="Sam")
    written = "Line one\n\n-- \nTwo, after a signature of the writer's own"
    mail = customer_mail.send_to_customer(rita, sam, subject="Hi", body=written)
    assert LINK.search(mail.body_text) and "/replies/" in mail.body_html
    link = mail_replies.link_for_token(LINK.search(mail.body_text).group(1).split("/")[-1])

    case = mail_replies.answer(link, "An answer")

    assert mail_replies.written_text(mail) == written
    assert thread(case)[0] == (Direction.OUT, sam.id, written)
    assert "/replies/" not in " ".join(body for _d, _a, body in thread(case))


def test_the_same_answer_sent_twice_adds_one_message(app, client, people):
    link = send_mail(app, people)
    form = answer_form(client, link, "Only once, please.")

    first, second = client.post(link, data=form), client.post(link, data=form)

    assert first.status_code == second.status_code == 302
    with app.app_context():
        [case] = cases_of(people["rita"])
        assert [d for d, _a, _b in thread(case)] == [Direction.OUT, Direction.IN]


def test_a_form_key_already_used_on_another_case_is_a_new_answer_not_an_error(app, client,
                                                                             people):
    a_form_key_used_on_another_case(app, client, people)


def a_form_key_used_on_another_case(app, client, people) -> None:
    """The answer form's one-time key is unique over all case messages: a key sent again
    with another mail's answer (an old page, a forged form) must not fail the request."""
    first, second, third = (send_mail(app, people, subject) for subject in ("1", "2", "3"))
    assert client.post(second, data={"body": "Opens 2", "form_key": "a" * 16}).status_code == 302
    assert client.post(first, data={"body": "Opens 1", "form_key": "k" * 16}).status_code == 302

    joins = client.post(second, data={"body": "Joins 2", "form_key": "k" * 16})
    opens = client.post(third, data={"body": "Opens 3", "form_key": "k" * 16})

    assert joins.status_code == opens.status_code == 302
    with app.app_context():
        by_subject = {c.subject: [body for _d, _a, body in thread(c)]
                      for c in cases_of(people["rita"])}
        assert by_subject["Re: 1"][1:] == ["Opens 1"]
        assert by_subject["Re: 2"][1:] == ["Opens 2", "Joins 2"]
        assert by_subject["Re: 3"][1:] == ["Opens 3"]


def test_each_mail_opens_its_own_case(app, client, people):
    first, second = send_mail(app, people, "First"), send_mail(app, people, "Second")

    client.post(first, data=answer_form(client, first, "To the first"))
    client.post(second, data=answer_form(client, second, "To the second"))

    with app.app_context():
        assert [c.subject for c in cases_of(people["rita"])] == ["Re: First", "Re: Second"]


def test_a_writer_no_longer_staff_leaves_the_case_unassigned(app, client, people):
    link = send_mail(app, people)
    with app.app_context():
        db.session.get(Member, people["sam"]).is_active_account = False
        db.session.commit()

    assert client.post(link, data=answer_form(client, link, "Hello?")).status_code == 302

    with app.app_context():
        [case] = cases_of(people["rita"])
        assert case.assignee_id is None and thread(case)[0][1] == people["sam"]


# --------------------------------------------------------------------------- refusals


def test_an_empty_or_too_long_answer_is_refused_with_a_message(app, client, people):
    link = send_mail(app, people)

    empty = client.post(link, data=answer_form(client, link, "   "))
    long = client.post(link, data=answer_form(client, link, "x" * (MESSAGE_MAX + 1)))

    assert empty.status_code == 400
    assert "Please write your message." in empty.get_data(as_text=True)
    assert long.status_code == 400
    assert f"Please keep it under {MESSAGE_MAX} characters." in long.get_data(as_text=True)
    assert "x" * MESSAGE_MAX in long.get_data(as_text=True)  # nothing typed is lost
    with app.app_context():
        assert cases_of(people["rita"]) == []


def test_an_answer_to_a_closed_case_is_refused_with_a_message(app, client, people):
    link = send_mail(app, people)
    client.post(link, data=answer_form(client, link, "First"))
    form = answer_form(client, link, "Another thing")  # a page opened before it closed
    with app.app_context():
        [case] = cases_of(people["rita"])
        cases.close(case, db.session.get(Member, people["sam"]))
        db.session.commit()

    refused = client.post(link, data=form)
    page = client.get(link).get_data(as_text=True)

    assert refused.status_code == 400
    assert "This case is closed." in refused.get_data(as_text=True)
    assert 'data-testid="case-closed"' in page and 'name="body"' not in page
    with app.app_context():
        [case] = cases_of(people["rita"])
        assert len(thread(case)) == 2


def _expired_token(app, mail_id: int, writer_id: int, email: str) -> str:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 61 * 86400

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=mail_replies.SALT,
                                  signer=LongAgo).dumps({"m": mail_id, "w": writer_id,
                                                         "e": email})


def test_a_damaged_forged_expired_or_stale_link_says_so_and_opens_nothing(app, client,
                                                                        people):
    link = send_mail(app, people)
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        mail_id = db.session.scalar(sa.select(OutboxMail.id))
        other_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="case-reply").dumps(
            {"m": mail_id, "w": people["sam"], "e": "rita@example.test"})
        not_ours = make_member(email="eve@example.test")
        db.session.commit()
        others_mail = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=mail_replies.SALT
                                             ).dumps({"m": 999999, "w": people["sam"],
                                                      "e": not_ours.email})
    damaged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    expired = _expired_token(app, mail_id, people["sam"], "rita@example.test")

    for bad in (damaged, "forged", other_salt, others_mail):
        for response in (client.get(f"/replies/{bad}"),
                         client.post(f"/replies/{bad}", data={"body": "Hi"})):
            assert response.status_code == 400
            assert "This link is not valid." in response.get_data(as_text=True)
    for response in (client.get(f"/replies/{expired}"),
                     client.post(f"/replies/{expired}", data={"body": "Hi"})):
        assert response.status_code == 400
        assert "This link has expired." in response.get_data(as_text=True)

    with app.app_context():  # the link went to an address she no longer has
        db.session.get(Member, people["rita"]).email = "rita.new@example.test"
        db.session.commit()
    stale = client.post(link, data={"body": "Hi"})
    assert stale.status_code == 400 and "This link is not valid." in stale.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 0


def test_an_old_link_of_a_customer_merged_away_adds_nothing_to_their_case(app, client,
                                                                         people):
    an_old_link_after_a_merge(app, client, people)


def an_old_link_after_a_merge(app, client, people) -> None:
    """Merging moves the mails, not the cases: after Rita is merged into Ann (and erased)
    and Ann takes Rita's old address, the link of a mail Rita answered would otherwise add
    an answer in Rita's name to Rita's case. It no longer works."""
    link = send_mail(app, people)
    client.post(link, data=answer_form(client, link, "Thanks"))
    with app.app_context():
        ann = make_member(email="ann@example.test", name="Ann")
        merge_members(ann, db.session.get(Member, people["rita"]),
                      db.session.get(Member, people["bea"]))
        ann.email = "rita@example.test"
        db.session.commit()
        ann_id = ann.id

    page = client.get(link)
    answered = client.post(link, data={"body": "Me, through the old link"})

    assert page.status_code == answered.status_code == 400
    assert "This link is not valid." in answered.get_data(as_text=True)
    with app.app_context():
        [case] = cases_of(people["rita"])
        assert len(thread(case)) == 2
        assert cases_of(ann_id) == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 1


def test_the_service_refuses_an_answer_to_another_members_mail_case(ctx):
    rita, ann, sam = make_member(), make_member(), make_staff()
    cases.customer_answer(CaseSource.RECORD_MAIL, "7", rita, "First", subject="Hi",
                          staff_text="Hello", staff_at=utcnow(), writer=sam)

    with pytest.raises(cases.InvalidCaseLink):
        cases.customer_answer(CaseSource.RECORD_MAIL, "7", ann, "Not hers", subject="Hi",
                              staff_text="Hello", staff_at=utcnow(), writer=sam)

    [case] = cases_of(rita.id)
    assert len(thread(case)) == 2


def test_an_erased_customers_link_answers_politely_and_their_case_is_scrubbed(app, client,
                                                                           people):
    link = send_mail(app, people, subject="About Dune for Rita")
    client.post(link, data=answer_form(client, link, "Rita at 5 Elm Road says thanks"))
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        [exported] = member_data(rita)["service_cases"]
        assert exported["subject"] == "Re: About Dune for Rita"
        assert [(m["from"], m["text"]) for m in exported["messages"]] == [
            ("staff", WRITTEN.replace("{name}", "Rita Reader")),
            ("customer", "Rita at 5 Elm Road says thanks")]
        erase_member(rita, db.session.get(Member, people["bea"]))
        db.session.commit()

    for response in (client.get(link), client.post(link, data={"body": "Me again"})):
        assert response.status_code == 410
        assert "erased on request" in response.get_data(as_text=True)
    with app.app_context():
        [case] = cases_of(people["rita"])
        assert case.subject == "[erased]"
        assert {body for _d, _a, body in thread(case)} == {"[erased]"}
        everything = "\n".join(str(tuple(row)) for table in db.metadata.sorted_tables
                               for row in db.session.execute(sa.select(table)))
        assert "rita@example.test" not in everything and "Elm Road" not in everything
        assert link.rsplit("/", 1)[1] not in everything  # the mail with the link is scrubbed


# --------------------------------------------------------------------------- the page


def test_the_page_speaks_both_languages(app, client, people):
    link = send_mail(app, people)

    client.set_cookie("lang", "zh_Hans")
    chinese = client.get(link).get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get(link).get_data(as_text=True)

    assert 'lang="zh-Hans"' in chinese and "发送" in chinese and SUBJECT in chinese
    assert 'lang="en"' in english and "Answer our message" in english


def test_the_page_speaks_the_customers_saved_language_over_the_browsers(app, client, people):
    """No one is logged in on the page: the customer's saved language, as in their mail,
    decides over the browser's."""
    with app.app_context():
        db.session.get(Member, people["rita"]).locale = "zh_Hans"
        db.session.commit()
    link = send_mail(app, people)
    english = {"Accept-Language": "en"}

    page = client.get(link, headers=english).get_data(as_text=True)
    refused = client.post(link, headers=english, data=answer_form(client, link, " "))

    assert 'lang="zh-Hans"' in page and "发送" in page and "Answer our message" not in page
    assert refused.status_code == 400 and 'lang="zh-Hans"' in refused.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_an_answer_without_the_forms_csrf_token_is_refused(app, client, people):
    link = send_mail(app, people)
    form = answer_form(client, link, "Hello")

    assert client.post(link, data=form).status_code == 400
    with app.app_context():
        assert cases_of(people["rita"]) == []
    form["csrf_token"] = token_in(client.get(link).get_data(as_text=True))
    assert client.post(link, data=form).status_code == 302


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "RECORD_MAIL_REPLY_RATE_LIMIT": "2 per minute"}])
def test_answers_are_rate_limited(app, client, people):
    link = send_mail(app, people)

    codes = [client.post(link, data={"body": f"Answer {n}"}).status_code for n in range(3)]

    assert codes == [302, 302, 429]
    assert client.get(link).status_code == 200  # reading the page is not limited
