"""A forgotten password, end to end: the form, the outbox, a real SMTP server, the link."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from app.core.extensions import db
from app.mail.sender import deliver_due
from tests.factories import make_member
from tests.pages import post_login

EMAIL = "reader@example.com"
OLD_PASSWORD = "correct horse 1"
NEW_PASSWORD = "battery staple 2"


@pytest.fixture
def reader(app) -> None:
    with app.app_context():
        make_member(email=EMAIL, password=OLD_PASSWORD, name="Ada Reader")
        db.session.commit()


def _deliver(app) -> None:
    with app.app_context():
        report = deliver_due()
    assert report.failed == []


def _reset_link(message: EmailMessage) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://localhost(/account/reset/[A-Za-z0-9_.\-]+)", text)
    assert match is not None, text
    return match.group(1)


def test_asking_for_a_reset_sends_the_member_a_mail_with_the_link(app, client, reader, smtp_inbox):
    client.post("/account/forgot", data={"email": EMAIL})

    _deliver(app)

    [(_, recipients, _)] = smtp_inbox.messages
    [message] = smtp_inbox.parsed()
    assert recipients == [EMAIL]
    assert message["To"] == EMAIL
    assert "new password" in message["Subject"]
    html = message.get_body(preferencelist=("html",)).get_content()
    link = _reset_link(message)
    assert f'href="http://localhost{link}"' in html
    assert "Hello Ada Reader" in message.get_body(preferencelist=("plain",)).get_content()


def test_the_mailed_link_sets_a_new_password_that_then_logs_in_and_works_only_once(
    app, client, reader, smtp_inbox
):
    client.post("/account/forgot", data={"email": EMAIL})
    _deliver(app)
    link = _reset_link(smtp_inbox.parsed()[0])

    form = client.get(link)
    reset = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert form.status_code == 200
    assert reset.status_code == 302
    assert post_login(app.test_client(), EMAIL, OLD_PASSWORD).status_code == 400
    assert post_login(app.test_client(), EMAIL, NEW_PASSWORD).status_code == 302
    again = app.test_client().post(
        link, data={"password": "third try phrase", "confirm": "third try phrase"}
    )
    assert again.status_code == 400
    assert "This link no longer works" in again.get_data(as_text=True)
    assert post_login(app.test_client(), EMAIL, NEW_PASSWORD).status_code == 302


def test_a_newer_link_does_not_revive_an_older_used_one(app, client, reader, smtp_inbox):
    client.post("/account/forgot", data={"email": EMAIL})
    client.post("/account/forgot", data={"email": EMAIL})
    _deliver(app)
    first, second = (_reset_link(m) for m in smtp_inbox.parsed())

    used = client.post(second, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert used.status_code == 302
    assert client.get(first).status_code == 400
