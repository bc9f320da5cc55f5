"""Cart, checkout and the member's orders: parse, call a service, redirect or render (the
request's unit of work commits, app.core.unit_of_work)."""

from __future__ import annotations

import logging
from decimal import Decimal

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.security import safe_next_url
from app.core.unit_of_work import back_on_error
from app.membership.models import Member
from app.ordering import cart, checkout, orders, payment
from app.ordering.models import OrderChannel
from app.ordering.pricing import Quote
from app.ordering.web import bp
from app.ordering.web.forms import (
    AddToCartForm,
    CartLineForm,
    CheckoutForm,
    RemoveFromCartForm,
)

log = logging.getLogger(__name__)


def _member() -> Member | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


def _discount_rate(member: Member | None) -> Decimal:
    return checkout.member_discount_rate(member) if member is not None else Decimal("0")


def _cart_view(member: Member | None) -> cart.CartView:
    return cart.lines(member, session, discount_rate=_discount_rate(member))


def _free_shipping_gap(quote: Quote) -> Decimal | None:
    """How much more (after discount) would make shipping free; None when it already is."""
    if quote.shipping == 0:
        return None
    return current_app.config["FREE_SHIPPING_FROM"] - quote.goods_after_discount


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return _("Please check what you entered.")


@bp.app_template_filter("percent")
def percent(rate: Decimal | None) -> str:
    """A rate such as Decimal('0.05') as the reader's locale writes it ("5%")."""
    if rate is None:
        return ""
    return format_percent(rate, "#,##0.##%")


# --------------------------------------------------------------------------- the cart


@bp.route("/cart")
def show():
    view = _cart_view(_member())
    return render_template(
        "cart/show.html",
        view=view,
        free_shipping_gap=_free_shipping_gap(view.quote),
        max_quantity=cart.MAX_LINE_QUANTITY,
        title=_("Your cart"),
    )


def _back() -> str:
    """Where a refused add to the cart leads: the form's `next` page (this site's only), else
    the cart."""
    return safe_next_url(request.form.get("next")) or url_for("cart.show")


@bp.route("/cart/add", methods=["POST"])
@back_on_error(_back)
def add():
    form = AddToCartForm()
    back = safe_next_url(form.next.data) or url_for("cart.show")
    if not form.validate():
        if form.book_id.errors:
            abort(400)
        flash(_first_error(form), "error")
        return redirect(back)
    try:
        added = cart.add(_member(), session, form.book_id.data, form.quantity.data or 1)
    except NotFound:
        abort(404)
    flash(_("“%(title)s” is in your cart (%(quantity)d).", title=added.title,
            quantity=added.quantity) + " " + _("Check out when you are ready."), "success")
    return redirect(back)


@bp.route("/cart/update", methods=["POST"])
@back_on_error("cart.show")
def update():
    form = CartLineForm()
    if not form.validate():
        if form.book_id.errors:
            abort(400)
        flash(_first_error(form), "error")
        return redirect(url_for("cart.show"))
    quantity = cart.set_quantity(_member(), session, form.book_id.data, form.quantity.data)
    if quantity == 0:
        flash(_("The book is out of your cart."), "info")
    else:
        flash(_("Quantity updated."), "success")
    return redirect(url_for("cart.show"))


@bp.route("/cart/remove", methods=["POST"])
def remove():
    form = RemoveFromCartForm()
    if not form.validate():
        abort(400)
    cart.remove(_member(), session, form.book_id.data)
    flash(_("The book is out of your cart."), "info")
    return redirect(url_for("cart.show"))


# --------------------------------------------------------------------------- checkout


def _prefilled(member: Member) -> CheckoutForm:
    saved = checkout.ShippingAddress.from_member(member)
    return CheckoutForm(
        formdata=None,
        data={
            "name": saved.name, "phone": saved.phone, "line1": saved.line1, "line2": saved.line2,
            "city": saved.city, "region": saved.region, "postcode": saved.postcode,
            "country": saved.country, "payment_method": next(iter(payment.METHODS)),
            "save_address": not member.has_address, "checkout_key": checkout.new_checkout_key(),
        },
    )


def _render_checkout(form: CheckoutForm, view: cart.CartView, status: int,
                     stock_error: checkout.OutOfStock | None = None):
    if form.checkout_key.errors:  # a hidden field: its error is the form's
        form.form_errors.append(str(form.checkout_key.errors[0]))
    if form.checkout_key.errors or not form.checkout_key.data:
        # Sent back unused, the key stays (no order has it); a bad or missing one is replaced.
        form.checkout_key.data = checkout.new_checkout_key()
    return render_template(
        "cart/checkout.html",
        form=form,
        view=view,
        methods=payment.METHODS,
        stock_error=stock_error,
        free_shipping_gap=_free_shipping_gap(view.quote),
        title=_("Checkout"),
    ), status


def _empty_cart():
    flash(_("Your cart is empty: add a book or two before checking out."), "info")
    return redirect(url_for("cart.show"))


def _submitted_again(member: Member, key: str | None):
    """A checkout that found its cart emptied, or its key used: lead to what happened."""
    order = checkout.order_placed_with(member, key)
    if order is not None:  # the same form again (a double click, a retried request)
        flash(_("Your order %(number)s is placed already: nothing was ordered twice.",
                number=order.number), "info")
        return redirect(url_for("cart.order_detail", order_id=order.id))
    if key and checkout.has_placed_orders(member):  # another window's form checked the cart out
        flash(_("Your cart is empty, so nothing more was ordered. If you checked out in "
                "another window, the order is listed here."), "info")
        return redirect(url_for("cart.orders"))
    return _empty_cart()


@bp.route("/checkout", endpoint="checkout", methods=["GET", "POST"])
@login_required
def checkout_page():
    member = current_user._get_current_object()
    form = _prefilled(member) if request.method == "GET" else CheckoutForm()
    if request.method == "GET" or not form.validate_on_submit():
        # The cart is priced for the page only when a page is shown: a valid order is priced
        # by place_order() itself, after the stock is taken.
        view = _cart_view(member)
        if view.is_empty:
            return _empty_cart()
        return _render_checkout(form, view, 200 if request.method == "GET" else 400)
    address = form.address()
    key = form.checkout_key.data or None
    try:
        order = checkout.place_order(
            member,
            address=address,
            payment_method=form.payment_method.data,
            note=form.note.data,
            checkout_key=key,
            channel=OrderChannel.WEB,  # the member on the website (the call centre: phone)
            placed_by=None,
        )
        if form.save_address.data:
            from app.membership.members import update_profile

            update_profile(
                member, name=member.name, phone=address.phone or member.phone,
                address_line1=address.line1, address_line2=address.line2, city=address.city,
                region=address.region, postcode=address.postcode, country=address.country,
            )
    except checkout.OutOfStock as exc:
        # Each refusal here goes on in this request and reads the database again, so it rolls
        # back first (the unit of work's own rollback would come too late): the copies
        # reserved go back and the cart is as it was, or (EmptyCart, AlreadyPlaced) the order
        # the same form placed is found as committed.
        db.session.rollback()
        return _render_checkout(form, _cart_view(member), 409, stock_error=exc)
    except (checkout.EmptyCart, checkout.AlreadyPlaced):
        db.session.rollback()
        return _submitted_again(member, key)
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return _render_checkout(form, _cart_view(member), 400)
    outcome = payment.get_method(order.payment_method).start(order)
    if outcome.redirect_url:
        return redirect(outcome.redirect_url)
    flash(_("Thank you! Your order %(number)s is placed. We have emailed you a confirmation.",
            number=order.number), "success")
    return redirect(url_for("cart.order_detail", order_id=order.id))


# --------------------------------------------------------------------------- the member's orders


@bp.route("/orders", endpoint="orders")
@login_required
def orders_list():
    page = request.args.get("page", 1, type=int)
    try:
        pagination = orders.orders_for_member(current_user._get_current_object(), page)
    except NotFound:
        abort(404)
    return render_template("cart/orders.html", pagination=pagination,
                           status_label=orders.status_label, title=_("My orders"))


@bp.route("/orders/<int(max=2147483647):order_id>")
@login_required
def order_detail(order_id: int):
    try:
        order = orders.order_for_member(current_user._get_current_object(), order_id)
    except NotFound:
        abort(404)
    return render_template(
        "cart/order_detail.html",
        order=order,
        status_label=orders.status_label,
        payment_label=orders.payment_label(order),
        payment=orders.payment_instructions(order),
        title=_("Order %(number)s", number=order.number),
    )
