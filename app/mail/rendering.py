"""Rendering a mail from its templates, in the language its reader reads.

A mail is templates/mail/<template>/{subject,body}.txt (+ body.html, optional), rendered when
it is queued, so the mail log shows exactly what goes out.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template

from app.core.extensions import db
from app.core.i18n import force_locale, locale_name


@dataclass(frozen=True)
class RenderedMail:
    subject: str  # on one line, whitespace collapsed
    body_text: str
    body_html: str | None  # None when the template has no HTML part


def render(template: str, context: dict, *, member_id: int | None = None,
           locale: str | None = None) -> RenderedMail:
    """The mail of templates/mail/<template>/ rendered with `context` in the reader's
    language (see `mail_locale`)."""
    with force_locale(mail_locale(member_id, locale)):
        subject = " ".join(render_template(f"mail/{template}/subject.txt", **context).split())
        body_text = render_template(f"mail/{template}/body.txt", **context)
        try:
            body_html: str | None = render_template(f"mail/{template}/body.html", **context)
        except Exception as exc:  # a missing HTML part is fine; text is always sent
            if exc.__class__.__name__ != "TemplateNotFound":
                raise
            body_html = None
    return RenderedMail(subject, body_text, body_html)


def mail_locale(member_id: int | None, locale: str | None) -> str:
    """The language a mail is written in: an explicit `locale`, else the member's saved
    language, else the language of the request that queues it (a visitor's demand, a password
    reset) unless someone else is logged in there (staff acting for a member), else the shop's
    default."""
    from app.membership.models import Member

    languages = current_app.config["LANGUAGES"]
    if locale in languages:
        return locale
    if member_id is not None:
        saved = db.session.scalar(sa.select(Member.locale).where(Member.id == member_id))
        if saved in languages:
            return saved
    return unsaved_locale(member_id)


def unsaved_locale(member_id: int | None) -> str:
    """The rest of mail_locale's rule, for a reader with no saved language: the request's
    language unless someone else is logged in there, else the shop's default."""
    from flask_login import current_user

    if has_request_context() and (
        member_id is None
        or not current_user.is_authenticated
        or current_user.id == member_id
    ):
        return locale_name()
    return current_app.config["BABEL_DEFAULT_LOCALE"]
