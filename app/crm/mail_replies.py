"""Answers to the mails staff write from a customer's record (app.crm.customer_mail).

Every such mail carries a signed link (`reply_url`: itsdangerous, salt "record-mail-reply",
good for RECORD_MAIL_REPLY_MAX_AGE_DAYS) naming the outbox mail, the member of staff who
wrote it and the address it went to. The page it opens (app.crm.web.mail_reply) takes the
customer's answer without a login, and `answer` threads it into a service case through
app.support.cases.customer_answer: the first answer opens a case for the customer (source
RECORD_MAIL, source key "record_mail:<mail id>", so one mail never opens two cases however
its answers race), "Re: <subject>", with the staff's text as the first message of the thread
and the answer as the second, assigned to the writer; later answers from the link join that
case and reopen it. The case then shows on the record (its cases panel and its story), in
the staff's queues, and the record's mail list links the answered mail to it
(`answered_cases`).

A link stops working when it expires, is damaged or forged, or when the customer's address
has changed since (it went to the old one); for a customer erased since, the page says so
politely (`CustomerErased`). Mails sent before the links existed have none. Flushes, never
commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.core.errors import DomainError
from app.core.extensions import db
from app.core.urls import external_url
from app.mail.models import OutboxMail
from app.mail.rendering import render
from app.membership.models import Member
from app.support import cases as support_cases
from app.support.models import CaseSource, SupportCase

SALT = "record-mail-reply"
ENDPOINT = "crm.mail_reply"
# What separates the text staff wrote from the signature in the mail's plain text
# (templates/mail/staff_message/body.txt): the case thread keeps the text alone.
SIGNATURE_SEPARATOR = "\n\n-- \n"


class InvalidReplyLink(DomainError):
    """The link is damaged, forged, expired, or no longer names the customer's address."""


class CustomerErased(DomainError):
    """The customer the mail went to was erased on request since."""


@dataclass(frozen=True)
class ReplyLink:
    """What a valid link names: the mail, its customer and who wrote it (a member id)."""

    mail: OutboxMail
    member: Member
    writer_id: int

    @property
    def subject(self) -> str:
        return self.mail.subject


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def reply_token(mail: OutboxMail, writer: Member) -> str:
    return _serializer().dumps({"m": mail.id, "w": writer.id, "e": mail.to_email.lower()})


def reply_url(mail: OutboxMail, writer: Member) -> str:
    return external_url(ENDPOINT, token=reply_token(mail, writer))


def add_reply_link(mail: OutboxMail, writer: Member, template: str, context: dict, *,
                   locale: str | None) -> str:
    """Render the queued `mail` again (templates/mail/<template>/) with the link to answer
    it as `reply_url`: the link names the mail, whose id is known only once its row is
    written. Returns the link."""
    url = reply_url(mail, writer)
    rendered = render(template, {**context, "reply_url": url}, member_id=mail.member_id,
                      locale=locale)
    mail.body_text, mail.body_html = rendered.body_text, rendered.body_html
    db.session.flush()
    return url


def _not_valid() -> InvalidReplyLink:
    return InvalidReplyLink(_("This link is not valid. Please use the link from your email."))


def link_for_token(token: str) -> ReplyLink:
    """What a signed link names; InvalidReplyLink if it is forged, damaged, expired or went
    to an address the customer no longer has, CustomerErased if the customer was erased."""
    max_age = current_app.config["RECORD_MAIL_REPLY_MAX_AGE_DAYS"] * 86400
    try:
        data = _serializer().loads(token or "", max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidReplyLink(_("This link has expired. Please write to us again from the "
                                 "contact page.")) from exc
    except BadSignature as exc:
        raise _not_valid() from exc
    if not (isinstance(data, dict) and all(isinstance(data.get(k), int) for k in ("m", "w"))
            and isinstance(data.get("e"), str)):
        raise _not_valid()
    mail = db.session.get(OutboxMail, data["m"])
    member = (db.session.get(Member, mail.member_id)
              if mail is not None and mail.member_id is not None else None)
    if member is None:
        raise _not_valid()
    if member.erased_at is not None:
        raise CustomerErased(_("This conversation has ended: the account it belonged to was "
                               "erased on request. If you would like to write to us, please "
                               "use the contact page."))
    if member.email.lower() != data["e"]:
        raise _not_valid()
    case = support_cases.case_with_source(CaseSource.RECORD_MAIL, str(mail.id))
    if case is not None and case.member_id != member.id:
        # The mail moved with a merge, its case stayed with the customer merged away.
        raise _not_valid()
    return ReplyLink(mail, member, data["w"])


def written_text(mail: OutboxMail) -> str:
    """The text staff wrote, as the mail's plain text has it (before the signature)."""
    text, separator, _signature = mail.body_text.rpartition(SIGNATURE_SEPARATOR)
    return (text if separator else mail.body_text).strip()


def case_of(link: ReplyLink) -> SupportCase | None:
    """The case the mail's answers opened, if it was answered."""
    return support_cases.case_with_source(CaseSource.RECORD_MAIL, str(link.mail.id))


def answer(link: ReplyLink, body: str, *, form_key: str | None = None) -> SupportCase:
    """The customer's answer: the first opens the mail's case, later ones join it (see the
    module's docstring). InvalidCase for an empty or too long answer, CaseClosed when the
    case has been closed since, InvalidReplyLink when the mail's case is another member's."""
    mail = link.mail
    try:
        message = support_cases.customer_answer(
            CaseSource.RECORD_MAIL, str(mail.id), link.member, body,
            subject=f"Re: {mail.subject}", staff_text=written_text(mail),
            staff_at=mail.created_at, writer=db.session.get(Member, link.writer_id),
            form_key=form_key)
    except support_cases.InvalidCaseLink as exc:
        raise _not_valid() from exc
    return message.case


def answered_cases(mail_ids: Iterable[int]) -> dict[int, SupportCase]:
    """The cases opened by answers to these mails, by mail id (one query; none for none)."""
    found = support_cases.cases_with_sources(CaseSource.RECORD_MAIL,
                                             [str(i) for i in mail_ids])
    return {int(key): case for key, case in found.items()}
