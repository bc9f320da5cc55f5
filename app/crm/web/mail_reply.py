"""The page a mail written from the customer's record links to: the customer answers it
without logging in (the signed link names the mail and the address it went to), and the
answer goes to the staff as a service case (app.crm.mail_replies)."""

from __future__ import annotations

from contextlib import nullcontext

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Length

from app.core.errors import DomainError
from app.core.extensions import limiter
from app.core.forms import AppForm
from app.core.i18n import force_locale
from app.core.i18n import lazy_gettext as _l
from app.crm import mail_replies
from app.crm.web import bp
from app.support.models import MESSAGE_MAX
from app.support.web.forms import form_key_field, keep_form_key, stripped

_NO_REFERRER = {"Referrer-Policy": "no-referrer"}  # the signed token is in the URL


class AnswerForm(AppForm):
    body = TextAreaField(_l("Your answer"), filters=[stripped],
                         validators=[InputRequired(_l("Please write your message.")),
                                     Length(max=MESSAGE_MAX, message=_l(
                                         "Please keep it under %(max)d characters."))])
    form_key = form_key_field()  # sent twice (a double click), one answer


def _reply_limit() -> str:
    return current_app.config["RECORD_MAIL_REPLY_RATE_LIMIT"]


def _unavailable(heading: str, message: str, status: int):
    return render_template("replies/unavailable.html", heading=heading, message=message,
                           title=heading), status, _NO_REFERRER


@bp.route("/replies/<token>", methods=["GET", "POST"])
@limiter.limit(_reply_limit, methods=["POST"])
def mail_reply(token: str):
    """GET shows the mail's subject and text and a box to answer; POST sends the answer."""
    try:
        link = mail_replies.link_for_token(token)
    except mail_replies.CustomerErased as exc:
        return _unavailable(_("This conversation has ended"), exc.message, 410)
    except mail_replies.InvalidReplyLink as exc:
        return _unavailable(_("This link does not work"), exc.message, 400)
    with _in_language_of(link.member):
        return _answer_page(token, link)


def _in_language_of(member):
    """The page speaks the customer's saved language (as their mail did), else the
    browser's: no one is logged in to choose it."""
    locale = member.locale if member.locale in current_app.config["LANGUAGES"] else None
    return force_locale(locale) if locale else nullcontext()


def _answer_page(token: str, link: mail_replies.ReplyLink):
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            case = mail_replies.answer(link, form.body.data, form_key=form.form_key.data or None)
        except mail_replies.InvalidReplyLink as exc:
            return _unavailable(_("This link does not work"), exc.message, 400)
        except DomainError as exc:
            form.form_errors.append(exc.message)  # shown again with 400: nothing is kept
        else:
            flash(_("Thank you: your answer is with our staff (case %(number)s). We will "
                    "answer by email.", number=case.number), "success")
            return redirect(url_for("crm.mail_reply", token=token))
    status = 400 if form.is_submitted() else 200
    keep_form_key(form)
    return render_template("replies/answer.html", form=form, token=token,
                           subject=link.subject, text=mail_replies.written_text(link.mail),
                           case=mail_replies.case_of(link),
                           title=_("Answer our message")), status, _NO_REFERRER
