"""Admin: take an order on the phone.

"New phone order" finds the caller (name, phone written any way, email, member number, or an
order number such as BS-0004327); the member's phone-order page builds their own cart (the
web's cart rules: stock checked, quantities bounded), shows the price with their grade's
discount as the website does, and places the order through the web's checkout with the
channel `phone` (app.crm.phone_orders). Staff and admins may do all of it.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import ID
from app.catalog.models import Book
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.i18n import LANGUAGE_NAMES
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error
from app.crm import phone_orders
from app.crm.web.admin_customer_forms import (
    BookSearchForm,
    CallerDemandForm,
    CallerSearchForm,
    PhoneDemandForm,
    PhoneOrderForm,
)
from app.demand.rules import DemandFieldError
from app.membership.models import Member
from app.ordering import checkout, payment
from app.ordering.web.forms import AddToCartForm, CartLineForm


def _actor() -> Member:
    return current_user._get_current_object()


def _member(member_id: int) -> Member:
    return db.get_or_404(Member, member_id)


@bp.route("/phone-orders/new")
def phone_order_search():
    """Who is calling? The matches, each leading to their phone-order page."""
    form = CallerSearchForm(formdata=request.args)
    valid = form.validate()
    callers = phone_orders.find_callers(form.q.data) if valid and form.q.data else []
    return render_template("admin/customers/phone_order_search.html", form=form,
                           callers=callers, searched=bool(valid and form.q.data),
                           title=_("New phone order")), (200 if valid else 400)


def _prefilled(member: Member) -> PhoneOrderForm:
    saved = checkout.ShippingAddress.from_member(member)
    return PhoneOrderForm(formdata=None, data={
        "name": saved.name, "phone": saved.phone, "line1": saved.line1, "line2": saved.line2,
        "city": saved.city, "region": saved.region, "postcode": saved.postcode,
        "country": saved.country, "payment_method": next(iter(payment.METHODS)),
        "checkout_key": checkout.new_checkout_key()})


def _render(member: Member, form: PhoneOrderForm, status: int = 200,
            stock_error: checkout.OutOfStock | None = None):
    if form.checkout_key.errors:
        form.form_errors.append(str(form.checkout_key.errors[0]))
    if form.checkout_key.errors or not form.checkout_key.data:
        form.checkout_key.data = checkout.new_checkout_key()
    book_form = BookSearchForm(formdata=request.args)
    books = (phone_orders.find_books(book_form.book_q.data)
             if book_form.validate() and book_form.book_q.data else [])
    return render_template(
        "admin/customers/phone_order.html", member=member, form=form,
        view=phone_orders.phone_cart(member), book_form=book_form, books=books,
        add_form=AddToCartForm(formdata=None), line_form=CartLineForm(formdata=None),
        demand_form=PhoneDemandForm(formdata=None),
        methods=payment.METHODS, stock_error=stock_error,
        title=_("Phone order for %(name)s", name=member.name)), status


@bp.route(f"/customers/<{ID}:member_id>/phone-order")
def phone_order(member_id: int):
    member = _member(member_id)
    if member.erased_at is not None:
        abort(404)
    return _render(member, _prefilled(member))


def _page(member_id: int, **_values) -> str:
    return url_for("admin.phone_order", member_id=member_id,
                   book_q=request.form.get("book_q") or None) + "#phone-cart"


@bp.route(f"/customers/<{ID}:member_id>/phone-order/add", methods=["POST"])
@back_on_error(_page)
def phone_order_add(member_id: int):
    member = _member(member_id)
    form = AddToCartForm()
    if not form.validate():
        flash(next(iter(e for errors in form.errors.values() for e in errors),
                   _("Please check what you entered.")), "error")
        return redirect(_page(member_id))
    try:
        quantity = phone_orders.add_book(member, form.book_id.data, form.quantity.data or 1)
    except NotFound:
        abort(404)
    flash(_("In the cart: %(quantity)d.", quantity=quantity), "success")
    return redirect(_page(member_id))


@bp.route(f"/customers/<{ID}:member_id>/phone-order/update", methods=["POST"])
@back_on_error(_page)
def phone_order_update(member_id: int):
    member = _member(member_id)
    form = CartLineForm()
    if not form.validate():
        flash(next(iter(e for errors in form.errors.values() for e in errors),
                   _("Please check what you entered.")), "error")
        return redirect(_page(member_id))
    quantity = phone_orders.set_quantity(member, form.book_id.data, form.quantity.data)
    flash(_("The book is out of the cart.") if quantity == 0 else _("Quantity updated."),
          "success")
    return redirect(_page(member_id))


@bp.route(f"/customers/<{ID}:member_id>/phone-order/place", methods=["POST"])
def phone_order_place(member_id: int):
    member = _member(member_id)
    if member.erased_at is not None:
        abort(404)
    form = PhoneOrderForm()
    if not form.validate_on_submit():
        return _render(member, form, 400)
    key = form.checkout_key.data or None
    try:
        order = phone_orders.place_phone_order(
            member, _actor(), address=form.address(), payment_method=form.payment_method.data,
            note=form.note.data, checkout_key=key)
    except checkout.OutOfStock as error:
        # Rolled back first: the copies go back, the cart is as it was, and the page is
        # shown from the database as it is now.
        db.session.rollback()
        return _render(member, form, 409, stock_error=error)
    except (checkout.EmptyCart, checkout.AlreadyPlaced) as error:
        db.session.rollback()
        placed = checkout.order_placed_with(member, key)
        if placed is not None:
            flash(_("Order %(number)s is placed already: nothing was ordered twice.",
                    number=placed.number), "info")
            return redirect(url_for("admin.order_detail", order_id=placed.id))
        form.form_errors.append(error.message)
        return _render(member, form, 400)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return _render(member, form, 400)
    flash(_("Order %(number)s is placed for %(name)s; the confirmation mail is on its way.",
            number=order.number, name=member.name), "success")
    return redirect(url_for("admin.order_detail", order_id=order.id))


# --------------------------------------------------------------------------- demand on the phone


@bp.route(f"/customers/<{ID}:member_id>/phone-demand", methods=["POST"])
@back_on_error(_page)
def phone_demand(member_id: int):
    """The member on the phone wants a book out of stock: their demand (the web's rules)."""
    member = _member(member_id)
    form = PhoneDemandForm()
    if not form.validate():
        flash(next(iter(e for errors in form.errors.values() for e in errors),
                   _("Please check what you entered.")), "error")
        return redirect(_page(member_id))
    demand = phone_orders.record_member_demand(member, _actor(), form.book_id.data,
                                               form.quantity.data, form.note.data)
    flash(_("Demand for “%(title)s” recorded: %(name)s will hear when it is in stock.",
            title=demand.book.title, name=member.name), "success")
    return redirect(_page(member_id))


def _caller_form(formdata=None) -> CallerDemandForm:
    form = CallerDemandForm() if formdata is not None else CallerDemandForm(formdata=None)
    form.locale.choices = [SelectChoice(code, LANGUAGE_NAMES.get(code, code))
                           for code in current_app.config["LANGUAGES"]]
    return form


def _caller_page(form: CallerDemandForm, status: int = 200):
    book_form = BookSearchForm(formdata=request.args)
    books = (phone_orders.find_books(book_form.book_q.data)
             if book_form.validate() and book_form.book_q.data else [])
    chosen = (db.session.get(Book, form.book_id.data)
              if isinstance(form.book_id.data, int) and 0 < form.book_id.data < 2**31 else None)
    return render_template("admin/customers/caller_demand.html", form=form,
                           book_form=book_form, books=books, chosen=chosen,
                           title=_("Demand for a caller who is not a member")), status


@bp.route("/phone-demands/new", methods=["GET", "POST"])
def caller_demand():
    if request.method == "GET":
        form = _caller_form()
        raw = request.args.get("book_id", "")
        form.book_id.data = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
        return _caller_page(form)
    form = _caller_form(request.form)
    if not form.validate_on_submit():
        return _caller_page(form, 400)
    try:
        phone_orders.record_caller_demand(
            _actor(), email=form.email.data, name=form.name.data, book_id=form.book_id.data,
            quantity=form.quantity.data, note=form.note.data, locale=form.locale.data)
    except DemandFieldError as error:
        db.session.rollback()
        field = getattr(form, error.field, None)
        (field.errors if field is not None and isinstance(field.errors, list)
         else form.form_errors).append(error.message)
        return _caller_page(form, 400)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return _caller_page(form, 400)
    flash(_("Demand recorded. A confirmation link is on its way to %(email)s: once the caller "
            "opens it, they will hear when the book is in stock.", email=form.email.data),
          "success")
    return redirect(url_for("admin.phone_order_search"))


register_nav(__name__, "admin.phone_order_search", _l("New phone order"), order=16)
