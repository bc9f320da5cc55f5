"""Admin: service cases. The queues ("my cases", "unassigned", "overdue", all) with filters and
bulk assign / close; a case's page with its thread, the reply form, assignment, status and
priority; the service figures as CSV. Staff only (the admin blueprint's guard); every change
is audited by app.support.cases."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.core.db import utcnow
from app.core.errors import DomainError
from app.core.exports import csv_response
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error
from app.membership.models import Member
from app.ordering.models import Order
from app.serving.templating import link_args
from app.support import cases as case_service
from app.support import figures, queues
from app.support.labels import STATUS_LABELS, template_labels
from app.support.models import CasePriority, CaseSource, CaseStatus, CaseType, SupportCase
from app.support.web.forms import (
    AssignForm,
    BulkForm,
    CaseQueryForm,
    PriorityForm,
    StaffCaseForm,
    StaffReplyForm,
    StatusForm,
    keep_form_key,
)

ID = "int(max=2147483647)"


def _actor() -> Member:
    return db.session.get(Member, current_user.id)


def _staff_choices(blank) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(str(m.id), m.name or m.email)
                                        for m in case_service.staff_members()]


def _assignee_value(raw: str | None) -> int | None:
    return int(raw) if raw else None


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(404)
    return int(raw)


@bp.route("/cases")
def cases():
    staff = _staff_choices(_l("Any"))
    query = CaseQueryForm(request.args)
    query.assignee.choices = staff
    if not query.validate():
        query = CaseQueryForm(formdata=None)
        query.assignee.choices = staff
    f = queues.CaseFilter(
        queue=query.queue.data or "mine",
        status=CaseStatus(query.status.data) if query.status.data else None,
        case_type=CaseType(query.case_type.data) if query.case_type.data else None,
        priority=CasePriority(query.priority.data) if query.priority.data else None,
        assignee_id=_assignee_value(query.assignee.data))
    now = utcnow()
    page = queues.case_page(f, current_user.id, now, _page())
    bulk = BulkForm()
    bulk.assignee.choices = _staff_choices(_l("Nobody"))
    args = {k: v for k, v in link_args().items() if k != "page"}
    return render_template(
        "admin/cases/list.html", page=page, query=query, bulk=bulk, filters=f, now=now,
        counts=queues.queue_counts(current_user.id, now), args=args,
        is_overdue=figures.case_is_overdue, title=_("Service cases"), **template_labels())


MAX_ID = 2147483647


def _case_ids(raw: list[str]) -> list[int] | None:
    """The chosen case ids, each 1..2147483647 (a database integer); None when any is not."""
    ids = []
    for value in raw:
        value = value.strip()
        if not value.isascii() or not value.isdigit() or len(value) > 10:
            return None
        number = int(value)
        if not 1 <= number <= MAX_ID:
            return None
        ids.append(number)
    return ids


@bp.post("/cases/bulk")
@back_on_error("admin.cases")
def cases_bulk():
    form = BulkForm()
    form.assignee.choices = _staff_choices(_l("Nobody"))
    back = request.form.get("back") or url_for("admin.cases")
    if not back.startswith("/admin/cases"):
        back = url_for("admin.cases")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(back, 303)
    ids = _case_ids(form.case_ids.data)
    if ids is None:
        flash(_("Those cases could not be found. Please choose them again."), "error")
        return redirect(back, 303)
    if form.action.data == "assign":
        n = case_service.bulk_assign(ids, _actor(), _assignee_value(form.assignee.data))
        flash(ngettext("%(num)d case assigned.", "%(num)d cases assigned.", n), "success")
    else:
        n = case_service.bulk_close(ids, _actor())
        flash(ngettext("%(num)d case closed.", "%(num)d cases closed.", n), "success")
    return redirect(back, 303)


def _case(case_id: int) -> SupportCase:
    return db.get_or_404(SupportCase, case_id)


def _status_form(case: SupportCase) -> StatusForm:
    """The status choices: where the case is, and where it may go from there."""
    form = StatusForm(status=case.status.value)
    form.status.choices = [SelectChoice(s.value, STATUS_LABELS[s]) for s in
                           (case.status, *case_service.NEXT_STATUSES[case.status])]
    return form


def _reply_form(form: StaffReplyForm | None) -> StaffReplyForm:
    """The reply form with its one-time key: sent twice (a double click), one reply."""
    form = form or StaffReplyForm(formdata=None)
    keep_form_key(form)
    return form


def _case_page(case: SupportCase, reply_form: StaffReplyForm | None = None, status: int = 200):
    assign_form = AssignForm(assignee=str(case.assignee_id or ""))
    assign_form.assignee.choices = _staff_choices(_l("Nobody"))
    return render_template(
        "admin/cases/detail.html", case=case, messages=case_service.thread(case),
        reply_form=_reply_form(reply_form),
        assign_form=assign_form,
        status_form=_status_form(case),
        priority_form=PriorityForm(priority=case.priority.value),
        overdue=figures.case_is_overdue(case, utcnow()),
        title=_("Case %(number)s", number=case.number), **template_labels()), status


@bp.route(f"/customers/<{ID}:member_id>/cases/new", methods=["GET", "POST"])
def case_new(member_id: int):
    """Open a case for a customer (what they said on the phone or in a letter); audited."""
    member = db.get_or_404(Member, member_id)
    form = StaffCaseForm()
    orders = {str(o.id): o for o in member_orders(member)}
    if request.method == "GET" and request.args.get("order") in orders:
        form.order_id.data = request.args["order"]
    if form.validate_on_submit():
        order = orders.get(form.order_id.data or "")
        try:
            case = case_service.open_case(
                subject=form.subject.data, body=form.body.data,
                case_type=CaseType(form.case_type.data),
                priority=CasePriority(form.priority.data), member=member, order=order,
                source=CaseSource.STAFF, actor=_actor(), locale=member.locale,
                form_key=form.form_key.data or None)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("Case %(number)s opened.", number=case.number), "success")
            return redirect(url_for("admin.case_detail", case_id=case.id), 303)
    status = 400 if request.method == "POST" else 200
    keep_form_key(form)
    return render_template("admin/cases/new.html", form=form, member=member,
                           title=_("Open a case for %(name)s", name=member.name)), status


def member_orders(member: Member) -> list[Order]:
    return list(db.session.scalars(sa.select(Order).where(Order.member_id == member.id)
                                   .order_by(Order.id.desc()).limit(50)))


@bp.route(f"/cases/<{ID}:case_id>")
def case_detail(case_id: int):
    return _case_page(_case(case_id))


@bp.post(f"/cases/<{ID}:case_id>/reply")
@back_on_error("admin.case_detail")
def case_reply(case_id: int):
    case = _case(case_id)
    form = StaffReplyForm()
    if not form.validate_on_submit():
        return _case_page(case, form, 400)  # the reply is shown again, not lost
    case_service.reply(case, _actor(), form.body.data, wait_for_customer=not form.keep_open.data,
                       form_key=form.form_key.data or None)
    flash(_("Your reply is on its way to %(email)s.", email=case.customer_email), "success")
    return redirect(url_for("admin.case_detail", case_id=case.id), 303)


@bp.post(f"/cases/<{ID}:case_id>/assign")
@back_on_error("admin.case_detail")
def case_assign(case_id: int):
    case = _case(case_id)
    form = AssignForm()
    form.assignee.choices = _staff_choices(_l("Nobody"))
    if not form.validate_on_submit():
        flash(_("Choose a member of staff."), "error")
        return redirect(url_for("admin.case_detail", case_id=case.id), 303)
    case_service.assign(case, _actor(), _assignee_value(form.assignee.data))
    flash(_("Case assigned."), "success")
    return redirect(url_for("admin.case_detail", case_id=case.id), 303)


@bp.post(f"/cases/<{ID}:case_id>/status")
@back_on_error("admin.case_detail")
def case_status(case_id: int):
    case = _case(case_id)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("Choose a status."), "error")
        return redirect(url_for("admin.case_detail", case_id=case.id), 303)
    case_service.change_status(case, _actor(), CaseStatus(form.status.data))
    flash(_("Status changed."), "success")
    return redirect(url_for("admin.case_detail", case_id=case.id), 303)


@bp.post(f"/cases/<{ID}:case_id>/priority")
@back_on_error("admin.case_detail")
def case_priority(case_id: int):
    case = _case(case_id)
    form = PriorityForm()
    if not form.validate_on_submit():
        flash(_("Choose a priority."), "error")
        return redirect(url_for("admin.case_detail", case_id=case.id), 303)
    case_service.change_priority(case, _actor(), CasePriority(form.priority.data))
    flash(_("Priority changed."), "success")
    return redirect(url_for("admin.case_detail", case_id=case.id), 303)


@bp.route("/cases/figures.csv")
def case_figures_csv():
    """The service figures (open, overdue, median first response and resolution) as CSV."""
    return csv_response(figures.csv_rows(figures.case_figures()), "service-cases.csv")


register_nav(__name__, "admin.cases", _l("Service cases"), order=52)
