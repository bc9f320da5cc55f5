"""Admin orders: find orders, export them as CSV, read one, and move it along its life cycle.

Staff and admins may do all of it. Every status change is written to the order's history
(OrderEvent, shown on the page) and to the audit log ("order.status").
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import ID, PER_PAGE, admin_or_granted, page_number
from app.core.exports import csv_response
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import commit_now
from app.crm import customer_admin, customers
from app.grades.labels import code_label
from app.grades.table import load_rules
from app.ordering import order_list
from app.ordering import orders as order_rules
from app.ordering.models import Order, OrderEvent
from app.ordering.web.forms import OrderFilterForm, OrderStatusForm

# The customer list's way of finding people, for the order search.
_CUSTOMERS = order_list.CustomerSearch(prefix_match=customers.prefix_match,
                                       members=customers.search_condition)


def _filters(form: OrderFilterForm) -> order_list.OrderFilters:
    return order_list.OrderFilters(status=form.status.data or None,
                                   date_from=form.date_from.data, date_to=form.date_to.data,
                                   q=form.q.data or None)


def _filter_args(form: OrderFilterForm) -> dict[str, str]:
    """The filters in force, for the export link (same rows as on screen)."""
    return {name: request.args[name] for name in ("q", "status", "date_from", "date_to")
            if request.args.get(name)} if not form.errors else {}


def _refused_filters(form: OrderFilterForm):
    return render_template("admin/orders/list.html", form=form, pagination=None,
                           title=_l("Orders")), 400


@bp.route("/orders")
def orders():
    form = OrderFilterForm(formdata=request.args)
    page = page_number()
    if not form.validate():
        return _refused_filters(form)
    pagination = order_list.orders_page(_filters(form), _CUSTOMERS, page, PER_PAGE)
    return render_template("admin/orders/list.html", form=form, pagination=pagination,
                           status_label=order_rules.status_label,
                           export_args=_filter_args(form), title=_l("Orders"),
                           may_export=customer_admin.may_export_customer_list(current_user))


@bp.route("/orders.csv")
@admin_or_granted(customer_admin.may_export_customer_list)
def orders_csv():
    """Every order the filters select (not only one page), streamed as CSV. Each row names
    the customer (email, name, city, country), so the customer list's rule applies: admins,
    and staff an admin allowed; each download is audited with its filters and row count
    (committed before the file streams)."""
    form = OrderFilterForm(formdata=request.args)
    if not form.validate():
        return _refused_filters(form)
    export = order_list.orders_export(_filters(form), _CUSTOMERS)
    customer_admin.record_orders_export(current_user._get_current_object(),
                                        _filter_args(form), export.count)
    commit_now()
    return csv_response(export.rows(), "orders.csv")


def _load_order(order_id: int) -> Order:
    order = db.session.scalar(
        sa.select(Order)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.lines),
            selectinload(Order.events).selectinload(OrderEvent.actor),
            selectinload(Order.member),
        )
    )
    if order is None:
        abort(404)
    return order


def _next_statuses(order: Order) -> list[SelectChoice]:
    """Only the moves the order's life cycle allows from where it is now."""
    return [SelectChoice(s.value, order_rules.status_label(s))
            for s in order_rules.allowed_next(order)]


def _status_form(order: Order) -> OrderStatusForm:
    form = OrderStatusForm()
    form.status.choices = _next_statuses(order)
    return form


def _render_detail(order: Order, form: OrderStatusForm, status: int = 200):
    rules = load_rules()
    return render_template(
        "admin/orders/detail.html",
        order=order,
        form=form,
        order_tier=code_label(order.tier_code, rules),
        member_tier=code_label(order.member.tier_code, rules),
        status_label=order_rules.status_label,
        payment_label=order_rules.payment_label(order),
        title=_("Order %(number)s", number=order.number),
    ), status


@bp.route(f"/orders/<{ID}:order_id>")
def order_detail(order_id: int):
    order = _load_order(order_id)
    return _render_detail(order, _status_form(order))


@bp.route(f"/orders/<{ID}:order_id>/status", methods=["POST"])
def order_status(order_id: int):
    order = _load_order(order_id)
    form = _status_form(order)
    if not form.validate_on_submit():
        return _render_detail(order, form, 400)
    try:
        order_rules.change_status(order, form.status.data, actor=current_user._get_current_object(),
                                  note=form.note.data)
    except order_rules.InvalidTransition as error:
        # The page is shown again from the database as it is now (another staff member may
        # have moved the order), so the refused work is rolled back first.
        db.session.rollback()
        order = _load_order(order_id)
        form.status.choices = _next_statuses(order)
        form.status.errors = [error.message]
        return _render_detail(order, form, 400)
    flash(_("Order %(number)s is now %(status)s.", number=order.number,
            status=order_rules.status_label(order.status).lower()), "success")
    return redirect(url_for("admin.order_detail", order_id=order.id))


register_nav(__name__, "admin.orders", _l("Orders"), order=30)
