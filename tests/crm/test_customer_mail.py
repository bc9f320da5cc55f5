"""Writing to a customer from the record: saved templates per language, safe placeholders,
sent through the outbox, shown on the record."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.crm import customer_mail
from app.mail.sender import deliver_due
from app.models import Interaction, InteractionKind, MailTemplate, OutboxMail
from tests.factories import make_admin, make_member, make_placed_order, make_staff
from tests.pages import logged_in_client

# --------------------------------------------------------------------------- placeholders


def test_placeholders_are_substituted_plainly():
    text = customer_mail.fill("Dear {name}, {order_number} ({book}) {{ok}}",
                              {"name": "Ann {book}", "order_number": "BS-0000007",
                               "book": "Dune"})
    assert text == "Dear Ann {book}, BS-0000007 (Dune) {ok}"


@pytest.mark.parametrize(("text", "named"), [
    ("Hi {nmae}", "{nmae}"), ("{name.__class__}", "{name.__class__}"),
    ("{name!r}", "{name!r}"), ("{name:>20}", "{name:>20}"), ("{0}", "{0}"),
])
def test_an_unknown_placeholder_is_refused_and_named(ctx, text, named):
    with pytest.raises(InvalidInput) as refusal:
        customer_mail.fill(text, {"name": "Ann"})
    assert named in refusal.value.message


@pytest.mark.parametrize("text", ["Hi {name", "Hi name}", "{"])
def test_stray_braces_are_refused(ctx, text):
    with pytest.raises(InvalidInput, match="brace"):
        customer_mail.fill(text, {"name": "Ann"})


def test_a_placeholder_without_a_value_says_what_to_choose(ctx):
    with pytest.raises(InvalidInput, match="Choose the order"):
        customer_mail.fill("About {order_number}", {"name": "Ann", "order_number": None})


# --------------------------------------------------------------------------- templates


def test_templates_are_saved_per_language_and_picked_in_the_customers(ctx):
    admin = make_admin()
    customer_mail.save_template(admin, name="Delay", locale="en", subject="Your order",
                                body="Dear {name}, {order_number} is late.")
    customer_mail.save_template(admin, name="Delay", locale="zh_Hans", subject="您的订单",
                                body="{name}，您好：订单 {order_number} 延迟了。")
    assert customer_mail.template_for("Delay", "zh_Hans").subject == "您的订单"
    assert customer_mail.template_for("Delay", None).subject == "Your order"
    assert customer_mail.template_names() == ["Delay"]
    with pytest.raises(InvalidInput, match="already"):
        customer_mail.save_template(admin, name="Delay", locale="en", subject="x", body="y")
    with pytest.raises(InvalidInput, match="Unknown placeholder"):
        customer_mail.save_template(admin, name="Bad", locale="en", subject="x",
                                    body="{discount}")
    assert [e.action for e in db.session.scalars(sa.select(AuditEntry))] == [
        "mail_template.save", "mail_template.save"]


# --------------------------------------------------------------------------- sending


def test_a_mail_to_the_customer_goes_through_the_outbox_in_their_language(ctx, smtp_inbox):
    staff = make_staff(name="Sam Staff")
    customer = make_member(name="Lin", email="lin@example.test", locale="zh_Hans")
    order = make_placed_order(member=customer)
    mail = customer_mail.send_to_customer(
        customer, staff, subject="{order_number}", body="{name}，关于《{book}》",
        order_id=order.id, book="三体", form_key="k" * 20)
    db.session.commit()

    assert (mail.kind, mail.member_id) == ("staff_message", customer.id)
    [note] = db.session.scalars(sa.select(Interaction)).all()
    assert note.kind == InteractionKind.EMAIL and order.number in note.body
    assert db.session.scalar(sa.select(AuditEntry.action).where(
        AuditEntry.action == "customer.mail_sent")) is not None
    deliver_due()
    [message] = smtp_inbox.parsed()
    assert message["To"] == "lin@example.test" and message["Subject"] == order.number
    assert "Lin，关于《三体》" in message.get_body(("plain",)).get_content()
    assert "Sam Staff" in message.get_body(("plain",)).get_content()


def test_the_same_compose_form_sends_once(ctx):
    staff, customer = make_staff(), make_member()
    customer_mail.send_to_customer(customer, staff, subject="Hi", body="Hello",
                                   form_key="a" * 24)
    with pytest.raises(customer_mail.AlreadySent):
        customer_mail.send_to_customer(customer, staff, subject="Hi", body="Hello",
                                       form_key="a" * 24)


def test_another_customers_order_is_refused(ctx):
    staff, customer = make_staff(), make_member()
    other_order = make_placed_order(member=make_member())
    with pytest.raises(InvalidInput, match="not this customer"):
        customer_mail.send_to_customer(customer, staff, subject="x", body="{order_number}",
                                       order_id=other_order.id)


# --------------------------------------------------------------------------- pages


def test_staff_write_from_a_template_and_the_mail_shows_on_the_record(app, staff_id):
    with app.app_context():
        admin = make_admin()
        customer_mail.save_template(admin, name="Thanks", locale="en",
                                    subject="Thank you, {name}", body="We loved {book}.")
        customer = make_member(name="Ann Reader")
        db.session.commit()
        member_id = customer.id
    agent = logged_in_client(app, "clerk@example.test")

    page = agent.get(f"/admin/customers/{member_id}/write?template=Thanks")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Thank you, {name}" in html
    key = re.search(r'name="form_key"[^>]*value="([^"]+)"', html).group(1)
    missing_book = agent.post(f"/admin/customers/{member_id}/write", data={
        "subject": "Thank you, {name}", "body": "We loved {book}.", "form_key": key})
    assert missing_book.status_code == 400
    assert "Give the book" in missing_book.get_data(as_text=True)
    assert "We loved {book}." in missing_book.get_data(as_text=True)  # nothing lost
    unknown = agent.post(f"/admin/customers/{member_id}/write", data={
        "subject": "Hi {firstname}", "body": "x", "form_key": key})
    assert unknown.status_code == 400
    assert "Unknown placeholder {firstname}" in unknown.get_data(as_text=True)
    sent = agent.post(f"/admin/customers/{member_id}/write", data={
        "subject": "Thank you, {name}", "body": "We loved {book}.", "book": "Dune",
        "form_key": key})
    assert sent.status_code == 302

    record = agent.get(f"/admin/customers/{member_id}").get_data(as_text=True)
    assert "Thank you, Ann Reader" in record
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMail.body_text).where(
            OutboxMail.kind == "staff_message")).startswith("We loved Dune.")


def test_only_admins_manage_templates(app, staff_id):
    with app.app_context():
        make_admin(email="boss@example.test")
        db.session.commit()
    agent = logged_in_client(app, "clerk@example.test")
    assert agent.get("/admin/mail-templates").status_code == 403
    assert agent.post("/admin/mail-templates/new", data={}).status_code == 403
    boss = logged_in_client(app, "boss@example.test")
    created = boss.post("/admin/mail-templates/new", data={
        "name": "Hello", "locale": "en", "subject": "Hi {name}", "body": "Hello {name}"})
    assert created.status_code == 302
    refused = boss.post("/admin/mail-templates/new", data={
        "name": "Bad", "locale": "en", "subject": "Hi", "body": "Hello {nam}"})
    assert refused.status_code == 400 and "Hello {nam}" in refused.get_data(as_text=True)
    with app.app_context():
        assert [t.name for t in db.session.scalars(sa.select(MailTemplate))] == ["Hello"]
