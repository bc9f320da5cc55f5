"""Admin mail: the outbox as a log (what the shop sent, or failed to), and the local catcher.

The mail catcher page reads the .eml files the embedded SMTP catcher (app.mail.catcher) saves
in MAIL_CATCHER_DIR, so staff can read what really travelled over SMTP on a development box.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import ID, PER_PAGE, page_number
from app.admin.forms import MAIL_STATUS_LABELS, ActionForm, MailFilterForm
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.paging import PagerMixin
from app.core.unit_of_work import back_on_error
from app.mail import mail_log as log_service
from app.mail.models import MailStatus, OutboxMail

RESENDABLE = (MailStatus.FAILED, MailStatus.CANCELLED)
# Links whose token acts for the mail's recipient: confirming an address (which opens the
# account and logs in), choosing a new password, confirming a visitor's demand, reviewing an
# order in the member's name, answering a mail written from the record or a case reply, and
# rating a closed case. Staff reading a mail see where such a link leads, never its token;
# the mail sent is unchanged.
TOKEN_LINK_ENDPOINTS = ("account.confirm", "account.reset", "demand.confirm",
                        "feedback.order_feedback_token", "crm.mail_reply",
                        "support.reply_by_link", "support.csat")
_TOKEN_CHARACTERS = r"[A-Za-z0-9_.\-]+"
CATCHER_PER_PAGE = 50
MAX_EML_BYTES = 10 * 1024 * 1024


# --------------------------------------------------------------------------- the outbox


def _token_link_pattern() -> re.Pattern[str]:
    paths = [url_for(endpoint, token="-")[:-1] for endpoint in TOKEN_LINK_ENDPOINTS]
    return re.compile("(" + "|".join(re.escape(path) for path in paths) + ")"
                      + _TOKEN_CHARACTERS)


def mask_token_links(text: str | None) -> str | None:
    """`text` (a mail body, plain or HTML) with every token of a link that acts for its
    recipient cut to "…": "https://shop/account/reset/…"."""
    if not text:
        return text
    return _token_link_pattern().sub(r"\1…", text)


def mail_status_label(status: MailStatus) -> str:
    return str(MAIL_STATUS_LABELS.get(status, status))


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("Any kind"))] + [
        SelectChoice(kind, kind.replace("_", " ")) for kind in log_service.kinds()
    ]


def _log_filter(form: MailFilterForm) -> log_service.LogFilter:
    return log_service.LogFilter(status=form.status.data or None, kind=form.kind.data or None,
                              q=form.q.data or None)


@bp.route("/mail/")
def mail_log():
    form = MailFilterForm(formdata=request.args)
    form.kind.choices = _kind_choices()
    page = page_number()
    if not form.validate():
        return render_template("admin/mail/list.html", form=form, pagination=None,
                               catcher_available=_catcher_dir() is not None,
                               title=_l("Mail log")), 400
    log_filter = _log_filter(form)
    pagination = db.paginate(log_service.log_query(log_filter), page=page, per_page=PER_PAGE,
                             error_out=True)
    failed = log_service.failed_count(log_filter)
    return render_template("admin/mail/list.html", form=form, pagination=pagination,
                           catcher_available=_catcher_dir() is not None,
                           failed_count=failed, retry_form=ActionForm() if failed else None,
                           filter_values=log_filter.values(),
                           mail_status_label=mail_status_label, title=_l("Mail log"))


@bp.route("/mail/retry-failed", methods=["POST"])
def mail_retry_failed():
    """Queue again every failed message of the mail log's filter (sent with the button as
    hidden fields), in one statement; the service audits it."""
    if not ActionForm().validate_on_submit():
        abort(400)
    form = MailFilterForm(formdata=request.form)
    form.kind.choices = _kind_choices()
    if not form.validate():
        flash(_("Please correct the filters above."), "error")
        return redirect(url_for("admin.mail_log"))
    log_filter = _log_filter(form)
    count = log_service.retry_failed(log_filter=log_filter, actor=current_user)
    if count:
        flash(ngettext("%(num)d failed message is queued to be sent again.",
                       "%(num)d failed messages are queued to be sent again.", count),
              "success")
    else:
        flash(_("No failed messages match this filter."), "info")
    return redirect(url_for("admin.mail_log", **log_filter.values()))


@bp.route(f"/mail/<{ID}:mail_id>")
def mail_detail(mail_id: int):
    mail = db.get_or_404(OutboxMail, mail_id)
    return render_template("admin/mail/detail.html", mail=mail,
                           body_text=mask_token_links(mail.body_text),
                           body_html=mask_token_links(mail.body_html),
                           resend_form=ActionForm() if mail.status in RESENDABLE else None,
                           mail_status_label=mail_status_label,
                           title=_("Mail %(id)d", id=mail.id))


@bp.route(f"/mail/<{ID}:mail_id>/resend", methods=["POST"])
@back_on_error("admin.mail_detail")
def mail_resend(mail_id: int):
    mail = db.get_or_404(OutboxMail, mail_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if mail.status not in RESENDABLE:
        flash(_("Only a failed or cancelled message can be sent again; this one is %(status)s.",
                status=mail_status_label(mail.status).lower()), "error")
        return redirect(url_for("admin.mail_detail", mail_id=mail.id))
    log_service.resend(mail.id, current_user)
    flash(_("The message to %(to)s is queued to be sent again.", to=mail.to_email), "success")
    return redirect(url_for("admin.mail_detail", mail_id=mail.id))


# --------------------------------------------------------------------------- the mail catcher


@dataclass(frozen=True)
class CaughtMail:
    name: str
    sender: str
    to: str
    subject: str
    date: datetime | None


def _catcher_dir() -> Path | None:
    configured = current_app.config.get("MAIL_CATCHER_DIR")
    if not configured:
        return None
    directory = Path(configured)
    return directory if directory.is_dir() else None


def _eml_names(directory: Path | None) -> list[str]:
    """The saved messages, newest first (the catcher names files so they sort by arrival)."""
    if directory is None:
        return []
    try:
        names = [entry.name for entry in os.scandir(directory)
                 if entry.name.endswith(".eml") and entry.is_file()]
    except OSError:
        return []
    return sorted(names, reverse=True)


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("date")
    return getattr(header, "datetime", None) if header is not None else None


def _summary(directory: Path, name: str) -> CaughtMail | None:
    try:
        with open(directory / name, "rb") as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)
    except OSError:  # deleted since the listing was read
        return None
    return CaughtMail(
        name=name,
        sender=str(headers.get("from", "")),
        to=str(headers.get("to", "")),
        subject=str(headers.get("subject", "")),
        date=_date(headers),
    )


@bp.route("/mail/catcher")
def mail_catcher():
    directory = _catcher_dir()
    names = _eml_names(directory)
    page = page_number()
    pages = max(1, math.ceil(len(names) / CATCHER_PER_PAGE))
    if page > pages:
        abort(404)
    start = (page - 1) * CATCHER_PER_PAGE
    caught = [summary for name in names[start:start + CATCHER_PER_PAGE]
              if (summary := _summary(directory, name)) is not None] if directory else []
    return render_template(
        "admin/mail/catcher.html",
        caught=caught,
        total=len(names),
        pager=_Pager(page=page, pages=pages),
        directory=current_app.config.get("MAIL_CATCHER_DIR"),
        exists=directory is not None,
        title=_l("Mail catcher"),
    )


@dataclass(frozen=True)
class _Pager(PagerMixin):
    """Enough of a Pagination for the pager macro."""

    page: int
    pages: int



def _part_text(part: EmailMessage | None) -> str | None:
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


@bp.route("/mail/catcher/<name>")
def mail_caught(name: str):
    directory = _catcher_dir()
    # Only a name from the directory listing is opened: no path can be smuggled in.
    if directory is None or name not in set(_eml_names(directory)):
        abort(404)
    path = directory / name
    try:
        if path.stat().st_size > MAX_EML_BYTES:
            abort(413)
        raw = path.read_bytes()
    except OSError:
        abort(404)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments = [part.get_filename() or part.get_content_type()
                   for part in message.iter_attachments()]
    return render_template(
        "admin/mail/caught.html",
        name=name,
        message=message,
        headers=[(key, str(value)) for key, value in message.items()],
        date=_date(message),
        text=mask_token_links(_part_text(text_part)),
        html=mask_token_links(_part_text(html_part)),
        attachments=attachments,
        title=str(message.get("subject", "")) or _("Caught message"),
    )


register_nav(__name__, "admin.mail_log", _l("Mail log"), order=40)
