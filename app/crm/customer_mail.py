"""Writing to a customer from their record, and the saved templates staff start from.

A template (MailTemplate) has a name and, per language, a subject and a body. They may hold
the placeholders {name} (the customer's name), {order_number} (an order of theirs the writer
picks, e.g. BS-0004327) and {book} (a book title the writer gives); `fill` substitutes them
and nothing else: an unknown placeholder, a format spec or an attribute ({name.x}, {name!r},
{name:>9}) is refused with a message naming it, and {{ }} write literal braces.

`send_to_customer` fills the text, queues the mail through the outbox in the customer's
language (its frame: greeting and signature), notes it on the record as an email contact
(app.crm.interactions) and audits it. The mail shows in the record's mails. It carries a
signed link to a page where the customer answers it; the answer opens a service case, or joins
the one an earlier answer opened (app.crm.mail_replies). Flushes, never commits.
"""

from __future__ import annotations

import string

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.core.audit import record as audit
from app.core.errors import DomainError, InvalidInput
from app.core.extensions import db
from app.crm import interactions, mail_replies
from app.crm.models import InteractionKind, MailTemplate
from app.mail.models import OutboxMail
from app.mail.outbox import enqueue
from app.membership.models import Member
from app.ordering.models import Order

PLACEHOLDERS = ("name", "order_number", "book")
NAME_MAX = 80
SUBJECT_MAX = 200
BODY_MAX = 10_000
BOOK_MAX = 300
KIND = "staff_message"


class AlreadySent(DomainError):
    """The compose form was sent already (its one-time key has a mail)."""


def placeholders_in(text: str) -> list[str]:
    """The placeholders `text` uses, in order, each once; InvalidInput for an unknown one or
    stray braces."""
    used: list[str] = []
    try:
        parts = list(string.Formatter().parse(text or ""))
    except ValueError:
        raise InvalidInput(_("A brace is not closed: write placeholders as {name}, and a "
                             "literal brace as {{ or }}.")) from None
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            raise InvalidInput(_("Unknown placeholder {%(field)s}: use {name}, {order_number} "
                                 "or {book}.", field=field + (f"!{conversion}" if conversion
                                                              else "") + (f":{spec}" if spec
                                                                          else "")))
        if field not in used:
            used.append(field)
    return used


def fill(text: str, values: dict[str, str | None]) -> str:
    """`text` with its placeholders replaced by `values` (plain substitution: a value is
    never read as a placeholder itself); InvalidInput when a placeholder it uses has no
    value."""
    placeholders_in(text)  # refuses what is not allowed
    out: list[str] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(text or ""):
        out.append(literal)
        if field is None:
            continue
        value = values.get(field)
        if not value:
            if field == "order_number":
                raise InvalidInput(_("Choose the order that {order_number} stands for."))
            if field == "book":
                raise InvalidInput(_("Give the book that {book} stands for."))
            raise InvalidInput(_("{%(field)s} has no value.", field=field))
        out.append(value)
    return "".join(out)


# --------------------------------------------------------------------------- templates


def templates() -> list[MailTemplate]:
    return list(db.session.scalars(
        sa.select(MailTemplate).order_by(MailTemplate.name, MailTemplate.locale)))


def template_names() -> list[str]:
    return list(db.session.scalars(
        sa.select(MailTemplate.name).distinct().order_by(MailTemplate.name)))


def template_for(name: str, locale: str | None) -> MailTemplate | None:
    """The template `name` in `locale`, else in the shop's default language, else any."""
    rows = {t.locale: t for t in db.session.scalars(
        sa.select(MailTemplate).where(MailTemplate.name == name))}
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    return rows.get(locale or default) or rows.get(default) or next(iter(rows.values()), None)


def _checked_template(name: str, locale: str, subject: str, body: str) -> tuple[str, ...]:
    name, subject, body = (name or "").strip(), (subject or "").strip(), (body or "").strip()
    if not name or not subject or not body:
        raise InvalidInput(_("A template needs a name, a subject and a text."))
    if len(name) > NAME_MAX or len(subject) > SUBJECT_MAX or len(body) > BODY_MAX:
        raise InvalidInput(_("A part of the template is too long."))
    if locale not in current_app.config["LANGUAGES"]:
        raise InvalidInput(_("Choose one of the shop's languages."))
    placeholders_in(subject)
    placeholders_in(body)
    return name, locale, subject, body


def save_template(actor: Member, *, name: str, locale: str, subject: str, body: str,
                  template: MailTemplate | None = None) -> MailTemplate:
    """Create a template (or change `template`); audited. InvalidInput for a missing or
    over-long part, an unknown language or placeholder, or a name taken in that language."""
    name, locale, subject, body = _checked_template(name, locale, subject, body)
    fields = ("name", "locale", "subject", "body")
    before = audit.snapshot(template, fields) if template is not None else None
    taken = sa.select(MailTemplate.id).where(MailTemplate.name == name,
                                             MailTemplate.locale == locale)
    if template is not None:
        taken = taken.where(MailTemplate.id != template.id)
    if db.session.scalar(taken) is not None:  # the unique constraint backs this up
        raise InvalidInput(_("There is a template of that name in that language already."))
    if template is None:
        template = MailTemplate(name=name, locale=locale, subject=subject, body=body)
        db.session.add(template)
    else:
        template.name, template.locale, template.subject, template.body = (
            name, locale, subject, body)
    db.session.flush()
    audit.record(actor.id, actor.email, "mail_template.save", template, before=before,
                 after=audit.snapshot(template, fields), summary=f"Mail template {name} saved")
    return template


def delete_template(actor: Member, template: MailTemplate) -> None:
    before = audit.snapshot(template, ("name", "locale", "subject", "body"))
    audit.record(actor.id, actor.email, "mail_template.delete", template, before=before,
                 summary=f"Mail template {template.name} deleted")
    db.session.delete(template)
    db.session.flush()


# --------------------------------------------------------------------------- sending


def recent_orders(member: Member, limit: int = 20) -> list[Order]:
    return list(db.session.scalars(
        sa.select(Order).where(Order.member_id == member.id)
        .order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)))


def send_to_customer(member: Member, staff: Member, *, subject: str, body: str,
                     order_id: int | None = None, book: str | None = None,
                     form_key: str | None = None) -> OutboxMail:
    """Queue a mail from `staff` to the customer, placeholders filled, with the link to
    answer it (app.crm.mail_replies); noted on the record and audited. `form_key` (the
    compose form's one-time key) sends it once however often the form is posted
    (AlreadySent)."""
    if member.erased_at is not None:
        raise InvalidInput(_("This account was erased on request; it cannot be changed."))
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or not body:
        raise InvalidInput(_("Write a subject and a message."))
    if len(subject) > SUBJECT_MAX or len(body) > BODY_MAX:
        raise InvalidInput(_("The message is too long."))
    book = " ".join((book or "").split()) or None
    if book is not None and len(book) > BOOK_MAX:
        raise InvalidInput(_("The book's title is too long."))
    order = None
    if order_id is not None:
        order = db.session.get(Order, order_id)
        if order is None or order.member_id != member.id:
            raise InvalidInput(_("That order is not this customer's."))
    values = {"name": member.name, "order_number": order.number if order else None,
              "book": book}
    subject, body = fill(subject, values), fill(body, values)
    key = f"{KIND}:{member.id}:{form_key}" if form_key else None
    if key is not None and db.session.scalar(
            sa.select(OutboxMail.id).where(OutboxMail.dedupe_key == key)) is not None:
        raise AlreadySent(_("This message was sent already."))
    context = {"subject": subject, "message": body, "name": member.name, "sender": staff.name,
               "shop_name": current_app.config["SHOP_NAME"]}
    mail = enqueue(kind=KIND, to_email=member.email, template=KIND, context=context,
                   member_id=member.id, dedupe_key=key, new_key=True, locale=member.locale)
    mail_replies.add_reply_link(mail, staff, KIND, context, locale=member.locale)
    interactions.add_interaction(member, staff, InteractionKind.EMAIL,
                                 _("Mail sent: %(subject)s", subject=subject))
    audit.record(staff.id, staff.email, "customer.mail_sent", mail,
                 after={"mail_id": mail.id, "subject": subject},
                 summary=f"Mail to member {member.id}")
    return mail
