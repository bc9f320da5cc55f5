"""Admin orders: find orders, read one, and move it along its life cycle."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from app.blueprints.admin import bp, register_nav
from app.blueprints.admin.common import ID, PER_PAGE, page_number
from app.blueprints.admin.forms import OrderFilterForm, OrderStatusForm
from app.extensions import db
from app.models import Order, OrderEvent, OrderStatus
from app.services import orders as order_rules
from app.services.text import contains_pattern

_ORDER_NUMBER = re.compile(r"(?:bs-?)?0*(\d{1,9})", re.IGNORECASE)


def _day_start(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _search(text: str) -> sa.ColumnElement[bool]:
    """An order number (BS-0000123, 123) or part of the customer's email address."""
    by_email = sa.func.lower(Order.email).like(contains_pattern(text.lower()), escape="\\")
    number = _ORDER_NUMBER.fullmatch(text)
    if number:
        return sa.or_(Order.id == int(number.group(1)), by_email)
    return by_email


@bp.route("/orders")
def orders():
    form = OrderFilterForm(formdata=request.args)
    page = page_number()
    if not form.validate():
        return render_template("admin/orders/list.html", form=form, pagination=None,
                               title=_l("Orders")), 400
    stmt = sa.select(Order)
    if form.status.data:
        stmt = stmt.where(Order.status == OrderStatus(form.status.data))
    if form.date_from.data:
        stmt = stmt.where(Order.placed_at >= _day_start(form.date_from.data))
    if form.date_to.data:
        stmt = stmt.where(Order.placed_at < _day_start(form.date_to.data) + timedelta(days=1))
    if form.q.data:
        stmt = stmt.where(_search(form.q.data))
    stmt = stmt.order_by(Order.placed_at.desc(), Order.id.desc())
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=True)
    return render_template("admin/orders/list.html", form=form, pagination=pagination,
                           status_label=order_rules.status_label, title=_l("Orders"))


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
    return render_template(
        "admin/orders/detail.html",
        order=order,
        form=form,
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
        order_rules.change_status(order, form.status.data, actor=current_user,
                                  note=form.note.data)
    except order_rules.InvalidTransition as error:
        db.session.rollback()
        order = _load_order(order_id)
        form.status.choices = _next_statuses(order)
        form.status.errors = [error.message]
        return _render_detail(order, form, 400)
    db.session.commit()
    flash(_("Order %(number)s is now %(status)s.", number=order.number,
            status=order_rules.status_label(order.status).lower()), "success")
    return redirect(url_for("admin.order_detail", order_id=order.id))


register_nav(__name__, "admin.orders", _l("Orders"), order=30)
