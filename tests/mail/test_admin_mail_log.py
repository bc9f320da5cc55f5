"""Staff read the mail log (the outbox), resend what failed, and read the local mail catcher."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.crm import customer_mail
from app.mail.catcher import start_catcher
from app.mail.sender import deliver_due
from app.models import MailStatus, Member, OutboxMail
from app.support import cases
from tests.conftest import free_port
from tests.factories import make_member, make_staff
from tests.pages import csrf_token as _csrf_token

NASTY_HTML = '<p>Hello</p><script>alert("x")</script><img src=x onerror="alert(1)">'


@pytest.fixture
def mailbox(tmp_path):
    return tmp_path / "mailbox"


@pytest.fixture
def app_config(mailbox):
    return {"MAIL_CATCHER_DIR": str(mailbox)}


def add_mail(app, **values) -> int:
    row = {
        "kind": "order_confirmation",
        "to_email": "ada@example.test",
        "subject": "Your order",
        "body_text": "Thank you.",
        "message_id": f"<{uuid.uuid4().hex}@test>",
    }
    row.update(values)
    with app.app_context():
        mail = OutboxMail(**row)
        db.session.add(mail)
        db.session.commit()
        return mail.id


def _status(app, mail_id: int) -> OutboxMail:
    with app.app_context():
        mail = db.session.get(OutboxMail, mail_id)
        db.session.expunge(mail)
        return mail


def _listed(staff, query: str = "") -> list[int]:
    page = staff.get(f"/admin/mail/?{query}").get_data(as_text=True)
    return [int(n) for n in re.findall(r'href="/admin/mail/(\d+)"', page)]


# --------------------------------------------------------------------------- the log


def test_the_log_lists_the_newest_mail_first(app, staff):
    old = add_mail(app, created_at=utcnow() - timedelta(days=2))
    new = add_mail(app, created_at=utcnow())

    assert _listed(staff) == [new, old]


def test_the_log_filters_by_status_kind_and_recipient(app, staff):
    failed = add_mail(app, status=MailStatus.FAILED, to_email="ada@example.test")
    reset = add_mail(app, kind="password_reset", to_email="Bob@Example.test")
    sent = add_mail(app, status=MailStatus.SENT, to_email="carol@example.test")

    assert _listed(staff, "status=failed") == [failed]
    assert _listed(staff, "kind=password_reset") == [reset]
    assert _listed(staff, "q=bob@") == [reset]
    assert _listed(staff, "q=CAROL") == [sent]
    assert _listed(staff, "q=%25") == []


@pytest.mark.parametrize("query", ["status=lost", "kind=no_such_kind", "q=" + "x" * 300])
def test_a_bad_filter_is_a_400_with_a_message(app, staff, query):
    add_mail(app)

    response = staff.get(f"/admin/mail/?{query}")

    assert response.status_code == 400
    assert "Please correct the filters above." in response.get_data(as_text=True)


def test_the_detail_shows_the_mail_with_its_html_escaped(app, staff):
    mail_id = add_mail(
        app,
        subject="<b>Bold</b> offer",
        body_text="Plain <script>alert('t')</script> text",
        body_html=NASTY_HTML,
        headers={"List-Unsubscribe": "<https://shop.test/u>"},
        attempts=3,
        last_error="SMTPServerDisconnected: <gone>",
        status=MailStatus.FAILED,
    )

    page = staff.get(f"/admin/mail/{mail_id}").get_data(as_text=True)

    assert "<script>" not in page and "<b>Bold</b>" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt; offer" in page
    assert "Plain &lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; text" in page
    # The HTML body is only ever inside a sandboxed iframe's srcdoc, escaped.
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in iframe
    assert "srcdoc=\"&lt;p&gt;Hello&lt;/p&gt;&lt;script&gt;" in iframe
    assert "SMTPServerDisconnected: &lt;gone&gt;" in page
    assert "List-Unsubscribe" in page
    assert "Send it again" in page


def test_a_sent_mail_offers_no_resend(app, staff):
    mail_id = add_mail(app, status=MailStatus.SENT)

    page = staff.get(f"/admin/mail/{mail_id}").get_data(as_text=True)

    assert "Send it again" not in page


def test_resending_puts_a_failed_mail_back_in_the_queue(app, staff):
    mail_id = add_mail(app, status=MailStatus.FAILED, attempts=8, last_error="refused")

    response = staff.post(f"/admin/mail/{mail_id}/resend")

    mail = _status(app, mail_id)
    assert response.status_code == 302
    assert mail.status is MailStatus.PENDING
    assert mail.attempts == 0
    assert "queued to be sent again" in staff.get(f"/admin/mail/{mail_id}").get_data(
        as_text=True)


def test_the_mail_of_an_erased_person_is_not_sent_again(app, staff):
    """Erasure cancels the person's mail and wipes its address; resending it must not queue
    it to the placeholder address (issue 18, erasure)."""
    mail_id = add_mail(app, status=MailStatus.CANCELLED, to_email="erased-41@erased.invalid",
                       subject="[erased]")

    response = staff.post(f"/admin/mail/{mail_id}/resend", follow_redirects=True)

    assert "whose data was erased" in response.get_data(as_text=True)
    assert _status(app, mail_id).status is MailStatus.CANCELLED


def test_a_resent_mail_really_goes_out(app, staff, smtp_inbox):
    mail_id = add_mail(app, status=MailStatus.FAILED, attempts=8, subject="Second try")

    staff.post(f"/admin/mail/{mail_id}/resend")
    with app.app_context():
        report = deliver_due()

    assert report.sent == [mail_id]
    assert [m["Subject"] for m in smtp_inbox.parsed()] == ["Second try"]
    assert _status(app, mail_id).status is MailStatus.SENT


def test_a_sent_mail_is_not_resent(app, staff):
    mail_id = add_mail(app, status=MailStatus.SENT, attempts=1)

    response = staff.post(f"/admin/mail/{mail_id}/resend", follow_redirects=True)

    assert "Only a failed or cancelled message can be sent again" in response.get_data(
        as_text=True)
    assert _status(app, mail_id).status is MailStatus.SENT


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_resending_without_a_csrf_token_is_refused(app, staff):
    mail_id = add_mail(app, status=MailStatus.FAILED)

    response = staff.post(f"/admin/mail/{mail_id}/resend")

    assert response.status_code == 400
    assert _status(app, mail_id).status is MailStatus.FAILED


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_resending_with_the_pages_csrf_token_works(app, staff):
    mail_id = add_mail(app, status=MailStatus.CANCELLED)
    token = _csrf_token(staff, f"/admin/mail/{mail_id}")

    response = staff.post(f"/admin/mail/{mail_id}/resend", data={"csrf_token": token})

    assert response.status_code == 302
    assert _status(app, mail_id).status is MailStatus.PENDING


# --------------------------------------------------------------------------- the catcher


def write_eml(mailbox, name: str, subject: str, text: str, html: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "Bookstation <shop@bookstation.test>"
    message["To"] = "ada@example.test"
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    mailbox.mkdir(parents=True, exist_ok=True)
    (mailbox / name).write_bytes(bytes(message))


def test_the_catcher_page_says_so_when_nothing_was_caught(staff):
    response = staff.get("/admin/mail/catcher")

    assert response.status_code == 200
    assert "has not saved anything yet" in response.get_data(as_text=True)


def test_the_catcher_lists_saved_messages_newest_first(staff, mailbox):
    write_eml(mailbox, "1700000000000000000-000001.eml", "First", "one")
    write_eml(mailbox, "1700000000000000001-000002.eml", "Second", "two")
    (mailbox / "notes.txt").write_text("not a message")

    page = staff.get("/admin/mail/catcher").get_data(as_text=True)

    assert page.index("Second") < page.index("First")
    assert "ada@example.test" in page and "shop@bookstation.test" in page
    assert "notes.txt" not in page
    assert "2 messages" in page


def test_a_caught_message_shows_its_text_escaped(staff, mailbox):
    write_eml(mailbox, "1700000000000000000-000001.eml", "Hi <there>",
              "Dear <b>Ada</b>,\nthanks.", html=NASTY_HTML)

    response = staff.get("/admin/mail/catcher/1700000000000000000-000001.eml")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dear &lt;b&gt;Ada&lt;/b&gt;," in page
    assert "<script>" not in page and "<b>Ada</b>" not in page
    assert 'sandbox=""' in page


@pytest.mark.parametrize(
    "name",
    ["notes.txt", "missing.eml", "..%2Fsecret.eml", "%2E%2E", "..", ".eml"],
)
def test_only_messages_in_the_catcher_folder_can_be_opened(staff, mailbox, name):
    write_eml(mailbox, "1700000000000000000-000001.eml", "First", "one")
    (mailbox / "notes.txt").write_text("not a message")
    (mailbox.parent / "secret.eml").write_text("Subject: Private subject\n\nPrivate body")

    response = staff.get(f"/admin/mail/catcher/{name}")

    assert response.status_code == 404
    # (the page may echo the path it was asked for, e.g. in the language links)
    assert b"Private" not in response.data and b"not a message" not in response.data


class TestTheEmbeddedCatcher:
    """The mail sender delivers over real SMTP to app.mail.catcher, which staff then read."""

    @pytest.fixture
    def app_config(self, mailbox):
        return {"MAIL_CATCHER_DIR": str(mailbox), "MAIL_PORT": free_port()}

    @pytest.fixture
    def catcher(self, app, mailbox):
        controller = start_catcher(mailbox, port=app.config["MAIL_PORT"])
        try:
            yield
        finally:
            controller.stop()

    def test_delivered_mail_can_be_read_by_staff(self, app, catcher, staff):
        add_mail(app, subject="Caught for real", body_text="Over real SMTP")

        with app.app_context():
            assert len(deliver_due().sent) == 1
        listing = staff.get("/admin/mail/catcher").get_data(as_text=True)
        name = re.search(r'href="/admin/mail/catcher/([^"]+\.eml)"', listing).group(1)
        message = staff.get(f"/admin/mail/catcher/{name}").get_data(as_text=True)

        assert "Caught for real" in listing
        assert "Over real SMTP" in message


def test_a_resend_is_written_to_the_audit_log(app, staff):
    from app.core.audit.models import AuditEntry

    mail_id = add_mail(app, status=MailStatus.FAILED, attempts=8, last_error="refused")

    staff.post(f"/admin/mail/{mail_id}/resend")

    with app.app_context():
        [entry] = db.session.scalars(sa.select(AuditEntry)
                                     .where(AuditEntry.action == "mail.resend")).all()
        assert (entry.target_type, entry.target_id) == ("outbox_mail", mail_id)
        assert entry.before["status"] == "failed" and entry.after["status"] == "pending"
        assert entry.before["attempts"] == 8 and entry.after["attempts"] == 0


# ------------------------------------------- issue 17: every failed mail of a filter again


def _mail_state(app) -> dict[str, tuple[MailStatus, int]]:
    with app.app_context():
        return {m.to_email: (m.status, m.attempts)
                for m in db.session.scalars(sa.select(OutboxMail))}


@pytest.fixture
def failures(app) -> None:
    for n in range(3):
        add_mail(app, kind="order_confirmation", to_email=f"ada{n}@example.test",
                 status=MailStatus.FAILED, attempts=8, last_error="Connection refused")
    add_mail(app, kind="order_confirmation", to_email="bob@example.test", status=MailStatus.FAILED,
             attempts=8, last_error="Connection refused")
    add_mail(app, kind="grade_up", to_email="ada9@example.test", status=MailStatus.FAILED,
             attempts=8)
    add_mail(app, kind="order_confirmation", to_email="ada8@example.test", status=MailStatus.SENT,
             attempts=1)


def test_staff_queue_every_failed_mail_of_the_filter_again_in_one_action(app, staff, failures):
    from app.models import AuditEntry

    page = staff.get("/admin/mail/?kind=order_confirmation&q=ada").get_data(as_text=True)
    assert "3 messages of this list failed." in page and "Send all 3 again" in page

    response = staff.post("/admin/mail/retry-failed",
                          data={"kind": "order_confirmation", "q": "ada"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/mail/?q=ada&kind=order_confirmation"
    state = _mail_state(app)
    assert [state[f"ada{n}@example.test"] for n in range(3)] == [(MailStatus.PENDING, 0)] * 3
    assert state["bob@example.test"] == (MailStatus.FAILED, 8)  # not in the filter
    assert state["ada9@example.test"] == (MailStatus.FAILED, 8)  # another kind
    assert state["ada8@example.test"] == (MailStatus.SENT, 1)  # sent stays sent
    assert "3 failed messages are queued to be sent again." in staff.get(
        response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        [entry] = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "mail.retry_failed"))
        assert entry.actor_label == "clerk@example.test"
        assert entry.after == {"count": 3, "filter": {"q": "ada", "kind": "order_confirmation"}}


def test_the_mails_queued_again_really_go_out(app, staff, failures, smtp_inbox):
    staff.post("/admin/mail/retry-failed", data={"status": "failed"})

    with app.app_context():
        report = deliver_due()

    assert len(report.sent) == 5
    assert sorted(rcpt[0] for _, rcpt, _ in smtp_inbox.messages) == [
        "ada0@example.test", "ada1@example.test", "ada2@example.test", "ada9@example.test",
        "bob@example.test"]


def test_a_list_without_failed_mail_offers_no_bulk_retry(app, staff, failures):
    page = staff.get("/admin/mail/?status=sent").get_data(as_text=True)

    assert 'data-testid="retry-failed"' not in page
    response = staff.post("/admin/mail/retry-failed", data={"status": "sent"})
    assert response.status_code == 302
    assert all(status != MailStatus.PENDING for status, _ in _mail_state(app).values())


def test_a_bad_filter_retries_nothing(app, staff, failures):
    response = staff.post("/admin/mail/retry-failed", data={"status": "exploded"})

    assert response.status_code == 302
    assert all(status != MailStatus.PENDING for status, _ in _mail_state(app).values())


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_bulk_retry_needs_the_pages_csrf_token(app, staff, failures):
    refused = staff.post("/admin/mail/retry-failed", data={"kind": "grade_up"})
    assert refused.status_code == 400
    assert _mail_state(app)["ada9@example.test"] == (MailStatus.FAILED, 8)

    token = _csrf_token(staff, "/admin/mail/?kind=grade_up")
    response = staff.post("/admin/mail/retry-failed",
                          data={"kind": "grade_up", "csrf_token": token})

    assert response.status_code == 302
    assert _mail_state(app)["ada9@example.test"] == (MailStatus.PENDING, 0)


def test_a_member_who_is_not_staff_cannot_retry_mail(app, client, failures):
    from tests.factories import make_member
    from tests.pages import log_in

    with app.app_context():
        make_member(email="shopper@example.test")
        db.session.commit()
    log_in(client, "shopper@example.test")

    assert client.post("/admin/mail/retry-failed", data={}).status_code == 403
    assert all(status != MailStatus.PENDING for status, _ in _mail_state(app).values())


# ------------------------------------------------- issue 17: the dashboard's mail warning


def test_the_dashboard_warns_while_the_mail_server_refuses(app, staff):
    add_mail(app, to_email="ok@example.test", status=MailStatus.SENT,
             last_attempt_at=utcnow() - timedelta(hours=1))
    add_mail(app, to_email="later@example.test", attempts=3,
             last_error="ConnectionRefusedError: [Errno 111] Connection refused",
             last_attempt_at=utcnow() - timedelta(minutes=2))

    page = staff.get("/admin/").get_data(as_text=True)

    assert 'data-testid="mail-server-trouble"' in page
    assert "The mail server is refusing mail." in page
    assert "Connection refused" in page
    assert "1 message is waiting to be retried." in page


def test_the_dashboard_is_quiet_once_mail_goes_out_again(app, staff):
    add_mail(app, to_email="later@example.test", attempts=3, last_error="Connection refused",
             last_attempt_at=utcnow() - timedelta(minutes=2))
    add_mail(app, to_email="ok@example.test", status=MailStatus.SENT,
             last_attempt_at=utcnow() - timedelta(minutes=1))

    page = staff.get("/admin/").get_data(as_text=True)

    assert 'data-testid="mail-server-trouble"' not in page


# --------------------------------------------------------------------------- acting links


def _mail_of_kind(app, kind: str) -> OutboxMail:
    with app.app_context():
        mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.kind == kind))
        db.session.expunge(mail)
        return mail


def _token_in(mail: OutboxMail, path: str) -> str:
    return re.search(rf"http://localhost{path}([A-Za-z0-9_.\-]+)", mail.body_text).group(1)


def test_staff_see_confirmation_and_reset_links_only_up_to_their_token(app, staff):
    """A confirmation link logs its holder into a new account (with that visitor's demands),
    a reset link sets the member's password: staff reading the log must not be able to use
    them (issue 17)."""
    visitor = app.test_client()
    visitor.post("/account/register", data={"email": "nia@example.test", "name": "Nia",
                                            "password": "a long phrase 42",
                                            "confirm": "a long phrase 42"})
    visitor.post("/account/forgot", data={"email": "clerk@example.test"})

    for kind, path in (("confirm_email", "/account/confirm/"),
                       ("password_reset", "/account/reset/")):
        mail = _mail_of_kind(app, kind)
        token = _token_in(mail, path)
        page = staff.get(f"/admin/mail/{mail.id}").get_data(as_text=True)

        assert token not in page
        assert f"http://localhost{path}…" in page
        assert mail.body_html and token in mail.body_html  # the mail itself is unchanged


@pytest.mark.parametrize("path", ["/demand/confirm/", "/feedback/t/"])
def test_other_links_that_act_for_their_recipient_are_masked_too(app, staff, path):
    token = "eyJtIjo3fQ.Zx1-ab_CD.sig-nature_0"
    mail_id = add_mail(app, body_text=f"Open http://localhost{path}{token} to go on.",
                       body_html=f'<a href="http://localhost{path}{token}?next=%2F">go</a>')

    page = staff.get(f"/admin/mail/{mail_id}").get_data(as_text=True)

    assert token not in page
    assert f"Open http://localhost{path}… to go on." in page


def test_ordinary_links_in_the_log_stay_whole(app, staff):
    mail_id = add_mail(app, body_text="See http://localhost/book/12 and "
                                      "http://localhost/orders/7 today.")

    page = staff.get(f"/admin/mail/{mail_id}").get_data(as_text=True)

    assert "See http://localhost/book/12 and http://localhost/orders/7 today." in page


def test_a_caught_message_shows_its_reset_link_masked(staff, mailbox):
    token = "eyJtIjo3fQ.Zx1-ab.sig"
    write_eml(mailbox, "1700000000000000000-000001.eml", "Reset",
              f"Choose: http://localhost/account/reset/{token}",
              html=f'<a href="http://localhost/account/reset/{token}">reset</a>')

    page = staff.get("/admin/mail/catcher/1700000000000000000-000001.eml").get_data(as_text=True)

    assert token not in page and "http://localhost/account/reset/…" in page


def test_staff_see_the_answer_links_of_record_and_case_mails_only_up_to_their_token(app,
                                                                                   staff):
    """The link in a mail written from the record, in a case reply and in the case's
    satisfaction question acts for the customer (answers in their name): staff reading the
    log see where it leads, never its token."""
    with app.app_context():
        rita, sam = make_member(name="Rita"), make_staff(name="Sam")
        customer_mail.send_to_customer(rita, sam, subject="Your copy", body="On its way.")
        case = cases.open_case(subject="Late", body="Where is it?", member=rita)
        cases.reply(case, sam, "It left today.")
        cases.close(case, db.session.get(Member, sam.id))
        db.session.commit()

    for kind, path in (("staff_message", "/replies/"), ("case_reply", "/cases/reply/"),
                       ("case_csat", "/cases/satisfaction/")):
        mail = _mail_of_kind(app, kind)
        token = _token_in(mail, path)
        page = staff.get(f"/admin/mail/{mail.id}").get_data(as_text=True)

        assert token not in page, kind
        assert f"http://localhost{path}…" in page
        assert token in mail.body_text  # the mail itself is unchanged
