"""Admin: returns. The list (by status), one return with its steps (approve, reject with a
reason, receive with a restock choice per line, refund), a return opened by staff for any
order, and the returns report with its CSV. Every change is audited by the service."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import ID, PER_PAGE, page_number
from app.admin.forms import EARLIEST_DATE, LATEST_DATE
from app.core.errors import NotFound
from app.core.exports import csv_response
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.money import ZERO
from app.core.unit_of_work import back_on_error
from app.ordering.models import Order
from app.returns import figures, refunds, requests
from app.returns.models import Restock, ReturnStatus
from app.returns.web.forms import (
    ApproveForm,
    ReceiveForm,
    RefundForm,
    RejectForm,
    ReturnFilterForm,
    ReturnForm,
    read_copies,
)


def _staff():
    return current_user._get_current_object()


def _load(return_id: int):
    try:
        return requests.get_request(return_id)
    except NotFound:
        abort(404)


@bp.route("/returns")
def returns_list():
    form = ReturnFilterForm(formdata=request.args)
    status = None
    if form.validate() and form.status.data:
        status = ReturnStatus(form.status.data)
    pagination = requests.returns_page(status, page_number(), PER_PAGE)
    return render_template("admin/returns/list.html", form=form, pagination=pagination,
                           status_label=requests.status_label,
                           reason_label=requests.reason_label, title=_l("Returns"))


def _render_detail(rr, *, refund_form=None, reject_form=None, status: int = 200,
                   errors=()):
    order = rr.order
    suggested = refunds.lines_value(order, {
        line.order_line_id: (line.received_quantity if line.received_quantity is not None
                             else line.quantity) for line in rr.lines})
    if refund_form is None:
        refund_form = RefundForm(formdata=None, lines=min(suggested, order.refundable))
    return render_template(
        "admin/returns/detail.html", rr=rr, order=order, refund_form=refund_form,
        reject_form=reject_form or RejectForm(formdata=None), approve_form=ApproveForm(),
        receive_form=ReceiveForm(), errors=list(errors), restock_labels=requests.RESTOCK_LABELS,
        status_label=requests.status_label, reason_label=requests.reason_label,
        refunded_shipping=refunds.shipping_refunded(order.id),
        title=_("Return %(number)s", number=rr.number)), status


@bp.route(f"/returns/<{ID}:return_id>")
def return_detail(return_id: int):
    return _render_detail(_load(return_id))


@bp.route(f"/returns/<{ID}:return_id>/approve", methods=["POST"])
@back_on_error("admin.return_detail")
def return_approve(return_id: int):
    rr = _load(return_id)
    if not ApproveForm().validate():
        abort(400)
    requests.approve(rr, _staff())
    flash(_("Return %(number)s approved; the member is told.", number=rr.number), "success")
    return redirect(url_for("admin.return_detail", return_id=rr.id))


@bp.route(f"/returns/<{ID}:return_id>/reject", methods=["POST"])
@back_on_error("admin.return_detail")
def return_reject(return_id: int):
    rr = _load(return_id)
    form = RejectForm()
    if not form.validate():
        return _render_detail(rr, reject_form=form, status=400)
    requests.reject(rr, _staff(), form.reason.data)
    flash(_("Return %(number)s rejected; the member is told why.", number=rr.number), "success")
    return redirect(url_for("admin.return_detail", return_id=rr.id))


@bp.route(f"/returns/<{ID}:return_id>/receive", methods=["POST"])
@back_on_error("admin.return_detail")
def return_receive(return_id: int):
    rr = _load(return_id)
    if not ReceiveForm().validate():
        abort(400)
    ids = [line.id for line in rr.lines]
    copies, errors = read_copies(request.form, "got_", ids)
    received = {}
    for line in rr.lines:
        choice = request.form.get(f"restock_{line.id}", "")
        if choice not in {r.value for r in Restock}:
            errors.append(_("Choose whether the copies can be sold again."))
            break
        received[line.id] = (copies.get(line.id, 0), choice)
    if errors:
        return _render_detail(rr, status=400, errors=errors)
    restocked = requests.receive(rr, _staff(), received)
    flash(_("Return %(number)s received; %(count)d copies back in stock.", number=rr.number,
            count=restocked), "success")
    return redirect(url_for("admin.return_detail", return_id=rr.id))


@bp.route(f"/returns/<{ID}:return_id>/refund", methods=["POST"])
@back_on_error("admin.return_detail")
def return_refund(return_id: int):
    rr = _load(return_id)
    form = RefundForm()
    if not form.validate():
        return _render_detail(rr, refund_form=form, status=400)
    try:
        refund = requests.refund_return(rr, _staff(), lines=form.lines.data or ZERO,
                                        shipping=form.shipping.data or ZERO,
                                        goodwill=form.goodwill.data or ZERO,
                                        note=form.note.data, form_key=form.form_key.data)
    except (refunds.RefundRefused, requests.ReturnRefused) as error:
        db.session.rollback()
        return _render_detail(_load(return_id), refund_form=form, status=400,
                              errors=[error.message])
    if refund is None:
        flash(_("Return %(number)s closed: nothing was left to refund on order %(order)s.",
                number=rr.number, order=rr.order.number), "success")
    else:
        flash(_("Refunded %(amount)s on order %(number)s; the member is told.",
                amount=str(refund.amount), number=rr.order.number), "success")
    return redirect(url_for("admin.return_detail", return_id=rr.id))


# --------------------------------------------------------------------------- opened by staff


def _order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    return order


def _render_new(order: Order, form, copies, status: int = 200, errors=()):
    return render_template("admin/returns/new.html", order=order, form=form, copies=copies,
                           errors=list(errors), returnable=requests.returnable(order),
                           title=_("Open a return for order %(number)s",
                                   number=order.number)), status


@bp.route(f"/orders/<{ID}:order_id>/returns/new", methods=["GET", "POST"])
def return_new(order_id: int):
    order = _order(order_id)
    form = ReturnForm()
    if request.method == "GET":
        return _render_new(order, form, {})
    copies, errors = read_copies(request.form, "qty_", [line.id for line in order.lines])
    if not form.validate() or errors:
        return _render_new(order, form, copies, 400, errors)
    try:
        rr = requests.open_return_for(order, _staff(), copies, form.reason.data,
                                      form.details.data)
    except requests.ReturnRefused as error:
        db.session.rollback()
        return _render_new(_order(order_id), form, copies, 400, [error.message])
    flash(_("Return %(number)s opened; the member is told.", number=rr.number), "success")
    return redirect(url_for("admin.return_detail", return_id=rr.id))


@bp.route(f"/orders/<{ID}:order_id>/refund", methods=["GET", "POST"])
def order_refund(order_id: int):
    """A refund on an order without a return (goodwill, shipping, a lost parcel's books)."""
    order = _order(order_id)
    form = RefundForm()
    errors: list[str] = []
    if request.method == "POST":
        if form.validate():
            try:
                refund = refunds.refund_order(order, lines=form.lines.data or ZERO,
                                              shipping=form.shipping.data or ZERO,
                                              goodwill=form.goodwill.data or ZERO,
                                              actor=_staff(), note=form.note.data,
                                              form_key=form.form_key.data)
            except refunds.RefundRefused as error:
                db.session.rollback()
                order = _order(order_id)
                errors.append(error.message)
            else:
                flash(_("Refunded %(amount)s on order %(number)s; the member is told.",
                        amount=str(refund.amount), number=order.number), "success")
                return redirect(url_for("admin.order_detail", order_id=order.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/returns/refund.html", order=order, form=form, errors=errors,
                           refunded_shipping=refunds.shipping_refunded(order.id),
                           title=_("Refund order %(number)s", number=order.number)), status


# --------------------------------------------------------------------------- report


def _day(name: str, default: date) -> date:
    """A day from the query string; the default for anything else or outside the years the
    admin forms accept."""
    try:
        day = date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return default
    return day if EARLIEST_DATE <= day <= LATEST_DATE else default


def _period() -> tuple[date, date]:
    first, today = figures.last_days(90)
    start = _day("from", first)
    end = _day("to", today)
    if end < start:
        start, end = end, start
    return start, end


@bp.route("/returns/report")
def returns_report():
    start, end = _period()
    report = figures.returns_report(start, end)
    return render_template("admin/returns/report.html", report=report, start=start, end=end,
                           reason_label=requests.reason_label, title=_l("Returns report"))


@bp.route("/returns/report.csv")
def returns_report_csv():
    start, end = _period()
    report = figures.returns_report(start, end)
    return csv_response(figures.report_rows(report), f"returns-{start}-{end}.csv")


register_nav(__name__, "admin.returns_list", _l("Returns"), order=35)
