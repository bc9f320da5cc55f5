"""A visitor's contact form: the case opens only once the address is confirmed.

The approach of a visitor's demand (app.demand.visitors): the form is kept (`ContactRequest`)
with the hash of a random token, and only the confirmation mail goes to the address. Opening
the link and pressing the button (`confirm_contact`) opens the case (once: the request row
goes) in the visitor's language; requests never confirmed are forgotten after
CASE_CONFIRM_HOURS (`purge_unconfirmed`). At most one request per address waits at a time.
The form itself is rate limited per client (CONTACT_RATE_LIMIT, in the view).

Functions flush, never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import gettext as _

from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.i18n import locale_name
from app.core.urls import external_url
from app.mail.outbox import enqueue
from app.membership.members import InvalidEmail, normalise_email
from app.support.cases import InvalidCase, clean_text, open_case
from app.support.models import (
    MESSAGE_MAX,
    NAME_MAX,
    SUBJECT_MAX,
    CaseSource,
    CaseType,
    ContactRequest,
    SupportCase,
)


class ContactFieldError(DomainError):
    """A refusal about one field of the contact form (shown at that field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PendingContact(DomainError):
    pass


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_contact(name: str, email: str, case_type: CaseType, subject: str,
                    body: str) -> ContactRequest:
    """Keep a visitor's message and mail the confirmation link; nothing else goes to the
    address. Raises ContactFieldError or PendingContact."""
    try:
        address = normalise_email(email)
    except InvalidEmail as exc:
        raise ContactFieldError("email", exc.message) from exc
    try:
        name = clean_text(name, NAME_MAX, _("Please tell us your name."))
    except InvalidCase as exc:
        raise ContactFieldError("name", exc.message) from exc
    try:
        subject = clean_text(subject, SUBJECT_MAX,
                             _("Please say in a few words what it is about."))
    except InvalidCase as exc:
        raise ContactFieldError("subject", exc.message) from exc
    try:
        body = clean_text(body, MESSAGE_MAX, _("Please write your message."))
    except InvalidCase as exc:
        raise ContactFieldError("body", exc.message) from exc
    now = utcnow()
    hours = current_app.config["CASE_CONFIRM_HOURS"]
    pending = db.session.scalar(
        sa.select(ContactRequest.id).where(ContactRequest.email == address,
                                           ContactRequest.created_at > now - timedelta(
                                               hours=hours)))
    if pending is not None:
        raise PendingContact(_(
            "We have already sent a confirmation link to %(email)s. Please open it first; "
            "until then we send nothing else to this address.", email=address))
    token = secrets.token_urlsafe(32)
    locale = locale_name() if has_request_context() else None
    request_row = ContactRequest(email=address, name=name, case_type=case_type,
                                 subject=subject, body=body, locale=locale,
                                 token_hash=_token_hash(token), created_at=now)
    db.session.add(request_row)
    db.session.flush()
    enqueue(kind="contact_confirm", to_email=address, template="contact_confirm",
            context={"shop_name": current_app.config["SHOP_NAME"], "name": name,
                     "subject": subject, "hours": hours,
                     "confirm_url": external_url("support.confirm_contact", token=token)},
            locale=locale, dedupe_key=f"contact_confirm:{request_row.id}", new_key=True)
    return request_row


def _link_not_valid() -> NotFound:
    return NotFound(_("This confirmation link is not valid or has expired. You can write "
                      "to us again from the contact page."))


def _fresh_since() -> datetime:
    return utcnow() - timedelta(hours=current_app.config["CASE_CONFIRM_HOURS"])


def pending_for_token(token: str) -> ContactRequest:
    """The waiting request a link belongs to; NotFound when unknown, used or too old."""
    found = None
    if token and len(token) <= 100:
        found = db.session.scalar(sa.select(ContactRequest)
                                  .where(ContactRequest.token_hash == _token_hash(token)))
    if found is None or found.created_at < _fresh_since():
        raise _link_not_valid()
    return found


def confirm_contact(token: str) -> SupportCase:
    """The visitor proved the address: their case opens now, in their language.

    The waiting request is claimed first, by one DELETE ... RETURNING: of two presses at the
    same moment only the one whose DELETE took the row opens the case; the other (its DELETE
    finds the row gone) is told the link was used, as for any used link (NotFound)."""
    if not token or len(token) > 100:
        raise _link_not_valid()
    claimed = db.session.execute(
        sa.delete(ContactRequest)
        .where(ContactRequest.token_hash == _token_hash(token),
               ContactRequest.created_at >= _fresh_since())
        .returning(ContactRequest.id, ContactRequest.subject, ContactRequest.body,
                   ContactRequest.case_type, ContactRequest.email, ContactRequest.name,
                   ContactRequest.locale)
        .execution_options(synchronize_session=False)).one_or_none()
    if claimed is None:
        raise _link_not_valid()
    stale = db.session.identity_map.get(db.session.identity_key(ContactRequest, claimed.id))
    if stale is not None:
        db.session.expunge(stale)  # read before the claim; the row is gone now
    return open_case(subject=claimed.subject, body=claimed.body, case_type=claimed.case_type,
                     visitor_email=claimed.email, visitor_name=claimed.name,
                     source=CaseSource.VISITOR, locale=claimed.locale, now=utcnow())


def purge_unconfirmed(now: datetime | None = None) -> int:
    """Forget the requests never confirmed within CASE_CONFIRM_HOURS; returns how many."""
    now = now or utcnow()
    hours = current_app.config["CASE_CONFIRM_HOURS"]
    result = db.session.execute(
        sa.delete(ContactRequest).where(ContactRequest.created_at < now - timedelta(hours=hours))
        .execution_options(synchronize_session=False))
    return result.rowcount
