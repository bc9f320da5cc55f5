"""Service cases: opening, the thread, staff work on a case, and the satisfaction question.

A case is opened by a member (from an order page or "Contact us"), by a visitor once their
address is confirmed (app.support.contact), by staff, or automatically by a low NPS answer or
a one- or two-star review (`open_automatic_case`, once per answer: its `source_key`).

A staff reply (`reply`) is mailed through the outbox in the customer's language with a signed
link (itsdangerous, salt "case-reply") to a page where the customer answers without logging
in; the answer (`customer_reply`) joins the thread and takes a case waiting on the customer
back to open. A customer's answer to a mail staff wrote them outside any case (from their
record: app.crm.mail_replies) opens a case once per mail (`customer_answer`), and later
answers join it. Closing a case (`close`) mails one question, "how satisfied are you" (1-5),
by a second signed link (salt "case-csat"), answered once (`answer_csat`).

Staff changes (reply, assign, status, priority, close, and a case staff open) are audited
here, through app.core.audit. Functions flush, never commit; refusals are DomainErrors.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.catalog.models import Book
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.i18n import locale_name
from app.core.urls import external_url
from app.mail import outbox
from app.membership.models import Member, Role
from app.ordering.models import Order
from app.support.labels import STATUS_LABELS
from app.support.models import (
    MESSAGE_MAX,
    SUBJECT_MAX,
    CaseMessage,
    CasePriority,
    CaseSource,
    CaseStatus,
    CaseType,
    Direction,
    SupportCase,
)

REPLY_SALT = "case-reply"
CSAT_SALT = "case-csat"
REPLY_KIND = "case_reply"
CSAT_KIND = "case_csat"
AUDITED = ("status", "priority", "assignee_id", "due_at", "resolved_at", "closed_at")
# Statuses a customer's answer takes back to "open" (the case is ours to move again).
REOPENED_BY_CUSTOMER = (CaseStatus.WAITING, CaseStatus.RESOLVED)


class InvalidCase(DomainError):
    pass


class CaseClosed(DomainError):
    pass


class CaseChanged(DomainError):
    """Someone else moved the case between reading it and changing it."""


class InvalidCaseLink(DomainError):
    pass


class AlreadyAnswered(DomainError):
    pass


# --------------------------------------------------------------------------- due times


def target_hours(priority: CasePriority) -> float:
    """The hours a case of this priority should be settled in (CASE_TARGET_HOURS)."""
    return float(current_app.config["CASE_TARGET_HOURS"][priority.value])


def due_time(created_at: datetime, priority: CasePriority) -> datetime:
    return created_at + timedelta(hours=target_hours(priority))


# --------------------------------------------------------------------------- one-time keys

# A form's one-time key: URL-safe base64 of 24 random bytes; what a form sends back is
# checked against this shape (the column holds 64).
FORM_KEY_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{16,64}\Z")


def new_form_key() -> str:
    """A one-time key for a form that opens a case or sends a reply: sent twice (a double
    click), it leads to the first case or reply."""
    return secrets.token_urlsafe(24)


def _checked_key(form_key: str | None) -> str | None:
    if form_key is not None and not FORM_KEY_PATTERN.fullmatch(form_key):
        raise InvalidCase(_("This form has expired. Please send it again."))
    return form_key or None


# --------------------------------------------------------------------------- opening


def clean_text(text: str | None, limit: int, empty_message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidCase(empty_message)
    if len(text) > limit:
        raise InvalidCase(_("Please keep it under %(n)s characters.", n=limit))
    return text


def _request_locale() -> str | None:
    return locale_name() if has_request_context() else None


def open_case(*, subject: str, body: str, case_type: CaseType = CaseType.QUESTION,
              member: Member | None = None, visitor_email: str | None = None,
              visitor_name: str | None = None, order: Order | None = None,
              book: Book | None = None, priority: CasePriority = CasePriority.NORMAL,
              source: CaseSource = CaseSource.MEMBER, source_key: str | None = None,
              actor: Member | None = None, locale: str | None = None,
              now: datetime | None = None, form_key: str | None = None) -> SupportCase:
    """Open a case with its first message (from the customer, or written by `actor`, staff,
    for them: then it is audited). An order must be the member's own. InvalidCase for an
    empty or too long subject or message. With the form's one-time key (`new_form_key`) of
    a member's case, the same form sent again returns the case it opened, even at the same
    moment (the key's unique index)."""
    subject = clean_text(subject, SUBJECT_MAX, _("Please say in a few words what it is about."))
    body = clean_text(body, MESSAGE_MAX, _("Please write your message."))
    if member is None and not visitor_email:
        raise InvalidCase(_("A case needs a customer."))
    if order is not None and (member is None or order.member_id != member.id):
        raise NotFound(_("We could not find that order."))
    form_key = _checked_key(form_key) if member is not None else None
    if form_key is not None:
        opened = _case_with_key(member, form_key)
        if opened is not None:
            return opened
    now = now or utcnow()
    case = SupportCase(
        member_id=member.id if member is not None else None, member=member,
        visitor_email=None if member is not None else visitor_email,
        visitor_name=None if member is not None else visitor_name,
        order_id=order.id if order is not None else None,
        book_id=book.id if book is not None else None,
        subject=subject, case_type=case_type, priority=priority, status=CaseStatus.NEW,
        source=source, source_key=source_key, created_at=now, updated_at=now,
        due_at=due_time(now, priority),
        # The customer's language: the page they wrote from, not the one staff read.
        locale=locale or (None if actor is not None else _request_locale()),
        form_key=form_key,
    )
    try:
        # In a savepoint: the same form sent at the same moment by another request is
        # refused by the key's unique index, and this one then returns that request's case.
        with db.session.begin_nested():
            db.session.add(case)
    except IntegrityError:
        opened = _case_with_key(member, form_key) if form_key is not None else None
        if opened is None:
            raise
        return opened
    staff_written = actor is not None and source is CaseSource.STAFF
    db.session.add(CaseMessage(case_id=case.id, author_id=actor.id if staff_written else (
        member.id if member is not None else None), direction=Direction.IN, body=body,
        created_at=now))
    db.session.flush()
    if actor is not None:
        audit.record(actor.id, actor.email, "case.open", case,
                     after=audit.snapshot(case, ("subject", "case_type", "priority", "status")),
                     summary=f"Case {case.number} opened for {case.customer_email}")
    return case


def _case_with_key(member: Member, form_key: str) -> SupportCase | None:
    return db.session.scalar(sa.select(SupportCase).where(SupportCase.form_key == form_key,
                                                          SupportCase.member_id == member.id))


def open_automatic_case(source: CaseSource, key: str, member: Member, subject: str, body: str,
                        *, case_type: CaseType = CaseType.COMPLAINT,
                        order_id: int | None = None, book_id: int | None = None,
                        priority: CasePriority = CasePriority.HIGH) -> SupportCase:
    """A case opened by an answer that needs someone to follow it up; once per `key` (an
    answer saved again returns the first case)."""
    source_key = f"{source.value}:{key}"
    existing = db.session.scalar(sa.select(SupportCase)
                                 .where(SupportCase.source_key == source_key))
    if existing is not None:
        return existing
    now = utcnow()
    case = SupportCase(member_id=member.id, order_id=order_id, book_id=book_id,
                       subject=subject[:SUBJECT_MAX], case_type=case_type, priority=priority,
                       status=CaseStatus.NEW, source=source, source_key=source_key,
                       created_at=now, updated_at=now, due_at=due_time(now, priority),
                       locale=member.locale)
    try:
        # In a savepoint: the same answer saved at the same moment by another request is
        # refused by the unique key, and this one then returns that request's case.
        with db.session.begin_nested():
            db.session.add(case)
    except IntegrityError:
        return db.session.scalars(sa.select(SupportCase)
                                  .where(SupportCase.source_key == source_key)).one()
    db.session.add(CaseMessage(case_id=case.id, author_id=member.id, direction=Direction.IN,
                               body=body[:MESSAGE_MAX], created_at=now))
    db.session.flush()
    return case


def on_survey_answered(survey, *, score: int, member: Member, **_signal) -> None:
    """Receiver of `survey_answered`: a detractor (0-6) gets a case, once per answer."""
    if score > 6 or member is None:
        return
    comment = (getattr(survey, "comment", None) or "").strip()
    body = _("Satisfaction answer %(score)s of 10.", score=score)
    if comment:
        body += "\n\n" + comment
    open_automatic_case(CaseSource.NPS, str(survey.id), member,
                        _("Low satisfaction score: %(score)s of 10", score=score), body,
                        order_id=survey.order_id)


def on_review_posted(review, *, rating: int, member: Member, **_signal) -> None:
    """Receiver of `review_posted`: a one- or two-star review gets a case, once per review."""
    if rating > 2 or member is None:
        return
    title = review.book.title if review.book is not None else ""
    body = _("Review of %(title)s: %(rating)s of 5 stars.", title=title, rating=rating)
    if review.body:
        body += "\n\n" + review.body
    open_automatic_case(CaseSource.REVIEW, str(review.id), member,
                        _("Low rating: %(rating)s stars for %(title)s", rating=rating,
                          title=title), body, order_id=review.order_id, book_id=review.book_id)


# --------------------------------------------------------------------------- signed links


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def case_token(case: SupportCase, salt: str) -> str:
    """A link's token: the case and the address it was sent to (a changed or erased address
    makes the old links stop working)."""
    return _serializer(salt).dumps({"c": case.id, "e": case.customer_email.lower()})


def case_for_token(token: str, salt: str) -> SupportCase:
    """The case a signed link names; InvalidCaseLink if forged, damaged, expired or stale."""
    max_age = current_app.config["CASE_LINK_MAX_AGE_DAYS"] * 86400
    try:
        data = _serializer(salt).loads(token or "", max_age=max_age)
    except SignatureExpired as exc:
        raise InvalidCaseLink(_("This link has expired. Please write to us again from the "
                                "contact page.")) from exc
    except BadSignature as exc:
        raise InvalidCaseLink(_("This link is not valid. Please use the link from your "
                                "email.")) from exc
    if not (isinstance(data, dict) and isinstance(data.get("c"), int)
            and isinstance(data.get("e"), str)):
        raise InvalidCaseLink(_("This link is not valid. Please use the link from your email."))
    case = db.session.get(SupportCase, data["c"])
    if case is None or case.customer_email.lower() != data["e"]:
        raise InvalidCaseLink(_("This link is not valid. Please use the link from your email."))
    return case


def _mail_locale(case: SupportCase) -> str | None:
    member_locale = case.member.locale if case.member is not None else None
    return member_locale or case.locale


def _customer_mail(case: SupportCase, kind: str, template: str, context: dict,
                   dedupe_key: str, *, new_key: bool = True) -> None:
    outbox.enqueue(
        kind=kind, to_email=case.customer_email, template=template,
        context={"shop_name": current_app.config["SHOP_NAME"], "name": case.customer_name,
                 "case_number": case.number, "subject": case.subject, **context},
        member_id=case.member_id, locale=_mail_locale(case), dedupe_key=dedupe_key,
        new_key=new_key)


# --------------------------------------------------------------------------- the thread


def _require_staff(actor: Member) -> None:
    if actor is None or not actor.is_staff:
        raise DomainError(_("Only staff can do this."))


def _require_open(case: SupportCase) -> None:
    if case.status is CaseStatus.CLOSED:
        raise CaseClosed(_("This case is closed. Please open a new one if you need more "
                           "help."))


def reply(case: SupportCase, actor: Member, body: str, *, now: datetime | None = None,
          wait_for_customer: bool = True, form_key: str | None = None) -> CaseMessage:
    """A staff reply: added to the thread and mailed to the customer with the answer link.
    The first reply sets `first_response_at`; the case then waits on the customer (or, kept
    open, is open). A resolved case replied to is no longer resolved: its `resolved_at` goes,
    so the figures count its final resolution. A case closed meanwhile refuses the reply.
    With the form's one-time key (`new_form_key`), the same form sent again returns the first
    reply: nothing is added, mailed or audited twice."""
    _require_staff(actor)
    form_key = _checked_key(form_key)
    if form_key is not None:
        sent = _reply_with_key(case, form_key)
        if sent is not None:
            return sent
    _require_open(case)
    body = clean_text(body, MESSAGE_MAX, _("Please write your reply."))
    now = now or utcnow()
    before = audit.snapshot(case, AUDITED)
    message = CaseMessage(case_id=case.id, author_id=actor.id, direction=Direction.OUT,
                          body=body, created_at=now, form_key=form_key)
    sent = _add_keyed(case, message)
    if sent is not message:
        return sent
    if case.first_response_at is None:
        case.first_response_at = now
    if wait_for_customer:
        status = CaseStatus.WAITING
    elif case.status in (CaseStatus.NEW, CaseStatus.RESOLVED):
        status = CaseStatus.OPEN
    else:
        status = case.status
    if not _moved(case, status, now, SupportCase.status != CaseStatus.CLOSED):
        raise CaseClosed(_("This case is already closed."))
    _customer_mail(case, REPLY_KIND, "case_reply",
                   {"reply": body, "reply_url": external_url(
                       "support.reply_by_link", token=case_token(case, REPLY_SALT))},
                   f"{REPLY_KIND}:{message.id}")
    audit.record(actor.id, actor.email, "case.reply", case, before=before,
                 after={**audit.snapshot(case, AUDITED), "message_id": message.id},
                 summary=f"Case {case.number}: reply sent")
    return message


def _add_keyed(case: SupportCase, message: CaseMessage) -> CaseMessage:
    """Add `message` to `case` in a savepoint: the same form (its one-time key) sent at the same
    moment is refused by the key's unique index, and the message the other request added is
    returned instead. Returns `message` itself when it was added."""
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        if message.form_key is None:
            raise
        sent = _reply_with_key(case, message.form_key)
        if sent is None:  # another case's message took the key at the same moment
            raise InvalidCase(_("This form has expired. Please send it again.")) from None
        return sent
    return message


def _reply_with_key(case: SupportCase, form_key: str) -> CaseMessage | None:
    return db.session.scalar(sa.select(CaseMessage).where(CaseMessage.form_key == form_key,
                                                          CaseMessage.case_id == case.id))


def _unused_key(form_key: str | None) -> str | None:
    """The key, unless a message of another case already has it (a page sent back with an
    old key, or a forged one): that answer is a new submission, kept without the key, where
    the key's unique index would otherwise fail the request."""
    if form_key is not None and db.session.scalar(
            sa.select(CaseMessage.id).where(CaseMessage.form_key == form_key).limit(1)):
        return None
    return form_key


def customer_reply(case: SupportCase, body: str, *, now: datetime | None = None,
                   form_key: str | None = None) -> CaseMessage:
    """The customer's answer (from the mailed link or their case page) joins the thread; a
    case waiting on them, or resolved, is open again (its resolution time goes). One
    conditional UPDATE decides, so a case closed by staff at the same moment refuses the
    answer (CaseClosed) rather than coming back open. With the answer form's one-time key
    (`new_form_key`), the same form sent twice, even at the same moment, adds one message
    (the first is returned)."""
    form_key = _checked_key(form_key)
    if form_key is not None:
        sent = _reply_with_key(case, form_key)
        if sent is not None:
            return sent
        form_key = _unused_key(form_key)
    _require_open(case)
    body = clean_text(body, MESSAGE_MAX, _("Please write your message."))
    now = now or utcnow()
    message = CaseMessage(case_id=case.id, author_id=case.member_id, direction=Direction.IN,
                          body=body, created_at=now, form_key=form_key)
    sent = _add_keyed(case, message)
    if sent is not message:
        return sent
    reopens = SupportCase.status.in_(REOPENED_BY_CUSTOMER)
    result = db.session.execute(
        sa.update(SupportCase)
        .where(SupportCase.id == case.id, SupportCase.status != CaseStatus.CLOSED)
        .values(status=sa.case((reopens, sa.literal(CaseStatus.OPEN, SupportCase.status.type)),
                               else_=SupportCase.status),
                resolved_at=sa.case((reopens, sa.null()), else_=SupportCase.resolved_at),
                updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise CaseClosed(_("This case is closed. Please open a new one if you need more "
                           "help."))
    db.session.refresh(case)
    return message


def customer_answer(source: CaseSource, key: str, member: Member, body: str, *,
                    subject: str, staff_text: str, staff_at: datetime,
                    writer: Member | None, form_key: str | None = None,
                    now: datetime | None = None) -> CaseMessage:
    """The customer's answer to a mail staff wrote them outside any case (`source` and `key`
    name the mail). The first answer opens a case for `member`, once per key however it is
    raced or sent again (the unique `source_key`): about `subject`, the staff's text
    (`staff_text`, written at `staff_at` by `writer`) as the first message of the thread and
    the answer as the second, assigned to the writer while they are active staff. A later
    answer, or one that meets the first at the same moment, joins that case
    (`customer_reply`: it reopens a case waiting on the customer or resolved, and a closed
    case refuses it). The answer form's one-time key makes a form sent twice one message.
    InvalidCase for an empty or too long answer; InvalidCaseLink when the mail's case
    belongs to another member (the mail moved with a merge, the case stayed with the
    customer merged away): nothing is added in their name."""
    body = clean_text(body, MESSAGE_MAX, _("Please write your message."))
    form_key = _checked_key(form_key)
    source_key = f"{source.value}:{key}"
    case = _case_with_source(source_key)
    if case is None:
        form_key = _unused_key(form_key)
        now = now or utcnow()
        assignee = writer if (writer is not None and writer.is_staff
                              and writer.is_active_account) else None
        case = SupportCase(
            member_id=member.id, member=member, subject=subject.strip()[:SUBJECT_MAX],
            case_type=CaseType.QUESTION, priority=CasePriority.NORMAL, status=CaseStatus.NEW,
            source=source, source_key=source_key,
            assignee_id=assignee.id if assignee is not None else None,
            created_at=now, updated_at=now, due_at=due_time(now, CasePriority.NORMAL),
            locale=member.locale)
        try:
            # In a savepoint: the same mail answered at the same moment by another request is
            # refused by the unique key, and this answer then joins that request's case.
            with db.session.begin_nested():
                db.session.add(case)
        except IntegrityError:
            case = _case_with_source(source_key)
            if case is None:
                raise
        else:
            db.session.add(CaseMessage(
                case_id=case.id, author_id=writer.id if writer is not None else None,
                direction=Direction.OUT, body=staff_text or subject,
                created_at=min(staff_at, now)))
            message = CaseMessage(case_id=case.id, author_id=member.id, direction=Direction.IN,
                                  body=body, created_at=now, form_key=form_key)
            try:
                with db.session.begin_nested():
                    db.session.add(message)
            except IntegrityError:  # another case's message took the key at the same moment
                raise InvalidCase(_("This form has expired. Please send it again.")) from None
            return message
    if case.member_id != member.id:
        raise InvalidCaseLink(_("This link is not valid. Please use the link from your "
                                "email."))
    return customer_reply(case, body, now=now, form_key=form_key)


def case_with_source(source: CaseSource, key: str) -> SupportCase | None:
    """The case `source` and `key` opened (an automatic case, an answered mail), if any."""
    return _case_with_source(f"{source.value}:{key}")


def cases_with_sources(source: CaseSource, keys: Iterable[str]) -> dict[str, SupportCase]:
    """The cases some keys of `source` opened, by key (one query; none when no keys)."""
    wanted = {f"{source.value}:{key}": key for key in keys}
    if not wanted:
        return {}
    return {wanted[case.source_key]: case for case in db.session.scalars(
        sa.select(SupportCase).where(SupportCase.source_key.in_(list(wanted))))}


def _case_with_source(source_key: str) -> SupportCase | None:
    return db.session.scalar(sa.select(SupportCase).where(SupportCase.source_key == source_key))


# --------------------------------------------------------------------------- staff changes


def staff_members() -> list[Member]:
    """Who a case may be assigned to."""
    return list(db.session.scalars(
        sa.select(Member).where(Member.role.in_((Role.STAFF, Role.ADMIN)),
                                Member.is_active_account.is_(True))
        .order_by(Member.name, Member.id)))


def _assignee(assignee_id: int | None) -> Member | None:
    if assignee_id is None:
        return None
    member = db.session.get(Member, assignee_id)
    if member is None or not member.is_staff or not member.is_active_account:
        raise InvalidCase(_("Cases can only be assigned to staff."))
    return member


def assign(case: SupportCase, actor: Member, assignee_id: int | None) -> SupportCase:
    """Give the case to a member of staff (None: to nobody). Audited as case.assign."""
    _require_staff(actor)
    assignee = _assignee(assignee_id)
    before = audit.snapshot(case, AUDITED)
    case.assignee_id = assignee.id if assignee is not None else None
    case.assignee = assignee
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(actor.id, actor.email, "case.assign", case, before=before,
                 after=audit.snapshot(case, AUDITED),
                 summary=f"Case {case.number} assigned to "
                         f"{assignee.email if assignee else 'nobody'}")
    return case


def _moved(case: SupportCase, status: CaseStatus, now: datetime,
           only_if: sa.ColumnElement[bool]) -> bool:
    """Move the case to `status` by one conditional UPDATE (`only_if` must still hold for the
    row): of two requests moving the same case at the same moment, only the one whose UPDATE
    changed the row goes on to mail and audit; the other gets False (on PostgreSQL its UPDATE
    waits for the first to commit, then finds the row no longer matching)."""
    values: dict = {"status": status, "updated_at": now}
    if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        values["resolved_at"] = sa.func.coalesce(SupportCase.resolved_at, now)
    else:
        values["resolved_at"] = None
    # Leaving resolved or closed clears the times: the figures count the final resolution.
    values["closed_at"] = now if status is CaseStatus.CLOSED else None
    db.session.flush()
    result = db.session.execute(
        sa.update(SupportCase).where(SupportCase.id == case.id, only_if).values(**values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(case)
    return True


def _changed_meanwhile() -> DomainError:
    return CaseChanged(_("Someone else has just changed this case. Please look at it again."))


# Where staff may move a case from each status (a closed case may only be reopened).
NEXT_STATUSES: dict[CaseStatus, tuple[CaseStatus, ...]] = {
    CaseStatus.NEW: (CaseStatus.OPEN, CaseStatus.WAITING, CaseStatus.RESOLVED,
                     CaseStatus.CLOSED),
    CaseStatus.OPEN: (CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED),
    CaseStatus.WAITING: (CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.CLOSED),
    CaseStatus.RESOLVED: (CaseStatus.OPEN, CaseStatus.CLOSED),
    CaseStatus.CLOSED: (CaseStatus.OPEN,),
}


def change_status(case: SupportCase, actor: Member, status: CaseStatus) -> SupportCase:
    """Move the case to another status, along NEXT_STATUSES (closing goes through `close`,
    which asks the customer the satisfaction question; a closed case may be reopened).
    Audited as case.status. The move is made only if the case is still in the status it was
    read in (else CaseChanged); a move not in NEXT_STATUSES is refused (InvalidCase)."""
    _require_staff(actor)
    if status is case.status:
        if status is CaseStatus.CLOSED:
            raise CaseClosed(_("This case is already closed."))
        raise InvalidCase(_("This case is already “%(status)s”.",
                            status=STATUS_LABELS[status]))
    if status not in NEXT_STATUSES[case.status]:
        raise InvalidCase(_("A case cannot go from “%(current)s” to “%(status)s”.",
                            current=STATUS_LABELS[case.status], status=STATUS_LABELS[status]))
    if status is CaseStatus.CLOSED:
        return close(case, actor)
    before = audit.snapshot(case, AUDITED)
    reopened = case.status is CaseStatus.CLOSED
    if not _moved(case, status, utcnow(), SupportCase.status == case.status):
        raise _changed_meanwhile()
    audit.record(actor.id, actor.email, "case.status", case, before=before,
                 after=audit.snapshot(case, AUDITED),
                 summary=f"Case {case.number}: {'reopened' if reopened else status.value}")
    return case


def change_priority(case: SupportCase, actor: Member, priority: CasePriority) -> SupportCase:
    """A new priority, and with it a new due time (from when the case was opened)."""
    _require_staff(actor)
    _require_open(case)
    before = audit.snapshot(case, AUDITED)
    case.priority = priority
    case.due_at = due_time(case.created_at, priority)
    case.updated_at = utcnow()
    db.session.flush()
    audit.record(actor.id, actor.email, "case.priority", case, before=before,
                 after=audit.snapshot(case, AUDITED),
                 summary=f"Case {case.number}: priority {priority.value}")
    return case


def close(case: SupportCase, actor: Member, *, now: datetime | None = None) -> SupportCase:
    """Close the case and mail the customer the satisfaction question (once per case).
    Audited as case.close. A case already closed (a second click, or another member of staff
    at the same moment) is refused with CaseClosed: nothing is mailed or audited twice."""
    _require_staff(actor)
    if not _close(case, actor, now or utcnow()):
        raise CaseClosed(_("This case is already closed."))
    return case


def _close(case: SupportCase, actor: Member, now: datetime) -> bool:
    """Close the case if no one else has (the conditional UPDATE): True when this call did."""
    before = audit.snapshot(case, AUDITED)
    if not _moved(case, CaseStatus.CLOSED, now, SupportCase.status != CaseStatus.CLOSED):
        return False
    # Once per case: a case reopened and closed again is not asked a second time.
    _customer_mail(case, CSAT_KIND, "case_csat",
                   {"csat_url": external_url("support.csat", token=case_token(case, CSAT_SALT))},
                   f"{CSAT_KIND}:{case.id}", new_key=False)
    audit.record(actor.id, actor.email, "case.close", case, before=before,
                 after=audit.snapshot(case, AUDITED), summary=f"Case {case.number} closed")
    return True


def _cases(ids: Iterable[int]) -> list[SupportCase]:
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        raise InvalidCase(_("Choose at least one case."))
    return list(db.session.scalars(sa.select(SupportCase).where(SupportCase.id.in_(wanted))
                                   .order_by(SupportCase.id)))


def bulk_assign(ids: Iterable[int], actor: Member, assignee_id: int | None) -> int:
    """Assign many cases at once (each audited); returns how many."""
    cases = _cases(ids)
    for case in cases:
        assign(case, actor, assignee_id)
    return len(cases)


def bulk_close(ids: Iterable[int], actor: Member) -> int:
    """Close many cases at once (each audited and asked its question); returns how many were
    closed now (already closed ones, even by someone else at the same moment, are left as
    they are)."""
    _require_staff(actor)
    now = utcnow()
    return sum(1 for case in _cases(ids)
               if case.status is not CaseStatus.CLOSED and _close(case, actor, now))


# --------------------------------------------------------------------------- satisfaction


def answer_csat(case: SupportCase, score: int, *, now: datetime | None = None) -> SupportCase:
    """The customer's 1-5 answer to "how satisfied are you", once: a second answer (or two at
    the same moment) is refused by the conditional update."""
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidCase(_("Choose from 1 to 5."))
    if case.status is not CaseStatus.CLOSED:
        raise InvalidCase(_("This case is not closed yet."))
    now = now or utcnow()
    result = db.session.execute(
        sa.update(SupportCase)
        .where(SupportCase.id == case.id, SupportCase.csat_score.is_(None))
        .values(csat_score=score, csat_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise AlreadyAnswered(_("You have already answered. Thank you!"))
    db.session.refresh(case)
    return case


# --------------------------------------------------------------------------- reading


def member_case(member: Member, case_id: int) -> SupportCase:
    case = db.session.get(SupportCase, case_id)
    if case is None or case.member_id != member.id:
        raise NotFound(_("We could not find that case."))
    return case


def member_cases(member: Member) -> list[SupportCase]:
    return list(db.session.scalars(
        sa.select(SupportCase).where(SupportCase.member_id == member.id)
        .order_by(SupportCase.created_at.desc(), SupportCase.id.desc())))


def thread(case: SupportCase) -> list[CaseMessage]:
    return list(db.session.scalars(
        sa.select(CaseMessage).where(CaseMessage.case_id == case.id)
        .order_by(CaseMessage.created_at, CaseMessage.id)))


def member_order(member: Member, order_id: int | None) -> Order | None:
    """The member's own order (None when not given); NotFound for anyone else's."""
    if order_id is None:
        return None
    order = db.session.get(Order, order_id)
    if order is None or order.member_id != member.id:
        raise NotFound(_("We could not find that order."))
    return order


# --------------------------------------------------------------------------- a person's data


ERASED_TEXT = "[erased]"
ERASED_NAME = "Erased member"


def _of_person(member: Member) -> sa.ColumnElement[bool]:
    """The cases of a member: their own, and those they opened as a visitor by the same
    address."""
    return sa.or_(SupportCase.member_id == member.id,
                  sa.func.lower(SupportCase.visitor_email) == member.email.lower())


def customer_cases(member: Member, limit: int = 20) -> dict:
    """The customer record's "Service cases" panel: the latest cases (with their assignee)
    and how many are not yet resolved. Two queries."""
    from app.support.figures import is_open

    rows = list(db.session.scalars(
        sa.select(SupportCase).where(_of_person(member))
        .options(selectinload(SupportCase.assignee))
        .order_by(SupportCase.created_at.desc(), SupportCase.id.desc()).limit(limit)))
    open_count = db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)
                                   .where(_of_person(member), is_open())) or 0
    return {"cases": rows, "open_count": open_count}


def person_cases(member: Member) -> list[SupportCase]:
    """Every case of the person with its thread, oldest first (the subject access export)."""
    return list(db.session.scalars(
        sa.select(SupportCase).where(_of_person(member))
        .options(selectinload(SupportCase.messages))
        .order_by(SupportCase.created_at, SupportCase.id)))


def scrub_visitor_cases(email: str, placeholder: str) -> int:
    """Erase what a visitor address left in cases: name, address, subject and every message
    of those cases go; the case rows stay (types, times, figures). Waiting contact requests
    from the address are deleted. Returns how many cases were scrubbed."""
    address = email.lower()
    ids = list(db.session.scalars(sa.select(SupportCase.id).where(
        sa.func.lower(SupportCase.visitor_email) == address)))
    _scrub_cases(ids)
    if ids:
        db.session.execute(sa.update(SupportCase).where(SupportCase.id.in_(ids))
                           .values(visitor_email=placeholder, visitor_name=ERASED_NAME)
                           .execution_options(synchronize_session=False))
    from app.support.models import ContactRequest

    db.session.execute(sa.delete(ContactRequest)
                       .where(sa.func.lower(ContactRequest.email) == address)
                       .execution_options(synchronize_session=False))
    return len(ids)


def _scrub_cases(ids: list[int]) -> None:
    if not ids:
        return
    db.session.execute(sa.update(CaseMessage).where(CaseMessage.case_id.in_(ids))
                       .values(body=ERASED_TEXT).execution_options(synchronize_session=False))
    db.session.execute(sa.update(SupportCase).where(SupportCase.id.in_(ids))
                       .values(subject=ERASED_TEXT).execution_options(synchronize_session=False))


def scrub_member_cases(member: Member, placeholder_email: str) -> None:
    """Erasure (app.crm.erasure's hook): the words of the member's cases go (subjects and
    every message: staff replies quote and address the person), and the cases they opened as
    a visitor with the same address lose the name and address too. The case rows stay, with
    their types, times and scores, for the figures."""
    ids = list(db.session.scalars(sa.select(SupportCase.id)
                                  .where(SupportCase.member_id == member.id)))
    _scrub_cases(ids)
    scrub_visitor_cases(member.email, placeholder_email)
