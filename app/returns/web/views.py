"""The member's return page: which copies of a delivered order, why; and the returns so far."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.errors import NotFound
from app.ordering import orders
from app.returns import requests
from app.returns.web import bp
from app.returns.web.forms import ReturnForm, read_copies


def _render(order, form, copies: dict[int, int], status: int = 200, errors=()):
    return render_template(
        "returns/request.html", order=order, form=form, copies=copies, errors=list(errors),
        returnable=requests.returnable(order), window_end=requests.return_window_end(order),
        window_open=requests.window_open(order), returns=requests.returns_for_order(order.id),
        status_label=requests.status_label, reason_label=requests.reason_label,
        title=_("Return books of order %(number)s", number=order.number)), status


@bp.route("/orders/<int(max=2147483647):order_id>/return", methods=["GET", "POST"])
@login_required
def request_return(order_id: int):
    member = current_user._get_current_object()
    try:
        order = orders.order_for_member(member, order_id)
    except NotFound:
        abort(404)
    form = ReturnForm()
    if request.method == "GET":
        return _render(order, form, {})
    copies, errors = read_copies(request.form, "qty_", [line.id for line in order.lines])
    if not form.validate() or errors:
        return _render(order, form, copies, 400, errors)
    try:
        made = requests.request_return(order, member, copies, form.reason.data,
                                       form.details.data)
    except requests.ReturnRefused as error:
        return _render(order, form, copies, 400, [error.message])
    flash(_("Thank you: we have your return request %(number)s and will write to you soon.",
            number=made.number), "success")
    return redirect(url_for("returns.request_return", order_id=order.id))
