"""Support pages for customers: "Contact us" (members and visitors), a member's cases, and the
pages the case mails link to. Views read the form, call app.support, and say what happened."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.errors import DomainError, NotFound
from app.core.extensions import db, limiter
from app.membership.models import Member
from app.support import cases as case_service
from app.support import contact as contact_service
from app.support.labels import template_labels
from app.support.models import CaseSource, CaseStatus, CaseType
from app.support.web import bp
from app.support.web.forms import (
    CaseForm,
    ConfirmForm,
    CsatForm,
    ReplyForm,
    VisitorContactForm,
    keep_form_key,
)

ID = "int(max=2147483647)"
_NO_REFERRER = {"Referrer-Policy": "no-referrer"}  # the signed token is in the URL


@bp.context_processor
def labels() -> dict:
    return template_labels()


def _show_error(form, error: DomainError) -> None:
    field = getattr(form, getattr(error, "field", ""), None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _member() -> Member:
    return db.session.get(Member, current_user.id)


def _order_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        abort(404)
    return int(raw)


def _contact_limit() -> str:
    return current_app.config["CONTACT_RATE_LIMIT"]


@bp.route("/contact", methods=["GET", "POST"])
@limiter.limit(_contact_limit, methods=["POST"],
               exempt_when=lambda: current_user.is_authenticated)
def contact():
    """Members open a case at once (about one of their orders with ?order=<id>); a visitor's
    message waits for the link mailed to their address."""
    member = _member() if current_user.is_authenticated else None
    form = CaseForm() if member is not None else VisitorContactForm()
    order = None
    if member is not None:
        try:
            order = case_service.member_order(
                member, _order_id(request.values.get("order") or form.order_id.data))
        except NotFound:
            abort(404)
        if order is not None and request.method == "GET":
            form.order_id.data = str(order.id)
            form.subject.data = form.subject.data or _("Order %(number)s", number=order.number)
    if form.validate_on_submit():
        try:
            if member is not None:
                case = case_service.open_case(
                    subject=form.subject.data, body=form.body.data,
                    case_type=CaseType(form.case_type.data), member=member, order=order,
                    source=CaseSource.MEMBER, form_key=form.form_key.data or None)
            else:
                contact_service.request_contact(form.name.data, form.email.data,
                                                CaseType(form.case_type.data),
                                                form.subject.data, form.body.data)
        except DomainError as exc:
            _show_error(form, exc)  # shown again with 400 below: nothing is kept
        else:
            if member is None:
                flash(_("Almost done: we have emailed you a link. Open it to send us your "
                        "message."), "success")
                return redirect(url_for("support.contact"))
            flash(_("Thank you: your case %(number)s is open. We will answer by email.",
                    number=case.number), "success")
            return redirect(url_for("support.my_case", case_id=case.id))
    status = 400 if request.method == "POST" else 200
    if member is not None:
        keep_form_key(form)  # sent twice (a double click), the form opens one case
    return render_template("support/contact.html", form=form, order=order, member=member,
                           title=_("Contact us")), status


def _link_invalid(exc: NotFound):
    return render_template("support/link_invalid.html", message=exc.message,
                           title=_("Link not valid")), 404, _NO_REFERRER


@bp.route("/contact/confirm/<token>", methods=["GET", "POST"])
def confirm_contact(token: str):
    """GET shows a button (mail scanners follow links; only a person's POST confirms)."""
    try:
        pending = contact_service.pending_for_token(token)
    except NotFound as exc:
        return _link_invalid(exc)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            case = contact_service.confirm_contact(token)
        except NotFound as exc:  # pressed twice at once: the other press opened the case
            return _link_invalid(exc)
        flash(_("Thank you: your message is with our staff (case %(number)s). We will answer "
                "by email.", number=case.number), "success")
        return redirect(url_for("support.contact"))
    return render_template("support/confirm.html", pending=pending, form=form,
                           title=_("Confirm your message")), 200, _NO_REFERRER


@bp.route("/account/cases")
@login_required
def my_cases():
    return render_template("support/my_cases.html", cases=case_service.member_cases(_member()),
                           title=_("My cases"))


@bp.route(f"/account/cases/<{ID}:case_id>", methods=["GET", "POST"])
@login_required
def my_case(case_id: int):
    try:
        case = case_service.member_case(_member(), case_id)
    except NotFound:
        abort(404)
    return _thread_page(case, url_for("support.my_case", case_id=case.id), member_view=True)


def _thread_page(case, action: str, *, member_view: bool, headers=None):
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            case_service.customer_reply(case, form.body.data)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            flash(_("Thank you: your message is added to the case."), "success")
            return redirect(action)
    status = 400 if request.method == "POST" else 200
    return render_template("support/case.html", case=case, messages=case_service.thread(case),
                           form=form, action=action, member_view=member_view,
                           closed=case.status is CaseStatus.CLOSED,
                           title=_("Case %(number)s", number=case.number)), status, headers or {}


@bp.route("/cases/reply/<token>", methods=["GET", "POST"])
def reply_by_link(token: str):
    """The page a staff reply's mail links to: the thread and a form to answer, no login
    needed (the signed link names the case and the address it went to)."""
    try:
        case = case_service.case_for_token(token, case_service.REPLY_SALT)
    except case_service.InvalidCaseLink as exc:
        return render_template("support/link_invalid.html", message=exc.message,
                               title=_("Link not valid")), 400, _NO_REFERRER
    return _thread_page(case, url_for("support.reply_by_link", token=token), member_view=False,
                        headers=_NO_REFERRER)


@bp.route("/cases/satisfaction/<token>", methods=["GET", "POST"])
def csat(token: str):
    """The one question mailed when a case closes: 1 to 5, answered once."""
    try:
        case = case_service.case_for_token(token, case_service.CSAT_SALT)
    except case_service.InvalidCaseLink as exc:
        return render_template("support/link_invalid.html", message=exc.message,
                               title=_("Link not valid")), 400, _NO_REFERRER
    form = CsatForm()
    status = 200
    if request.method == "POST":
        if case.csat_score is not None:
            flash(_("You have already answered. Thank you!"), "info")
            return redirect(url_for("support.csat", token=token))
        if form.validate_on_submit():
            try:
                case_service.answer_csat(case, int(form.score.data))
            except DomainError as exc:
                _show_error(form, exc)
            else:
                flash(_("Thank you for your answer!"), "success")
                return redirect(url_for("support.csat", token=token))
        status = 400
    return render_template("support/csat.html", case=case, form=form,
                           title=_("How did we do?")), status, _NO_REFERRER
