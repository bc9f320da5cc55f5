"""Demand pages: parse the form, call one demand service, redirect or render (the request's
unit of work commits, app.core.unit_of_work)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.catalog.models import Book
from app.core.errors import DomainError, NotFound
from app.core.extensions import csrf, db, limiter
from app.core.unit_of_work import back_on_error
from app.demand import lists as demand_service
from app.demand import tokens, uncatalogued, visitors
from app.demand import unsubscribe as unsubscribe_service
from app.demand.web import bp
from app.demand.web.forms import (
    ActionForm,
    NotifyMeForm,
    PreferencesForm,
    RequestBookForm,
    VisitorNotifyForm,
)
from app.membership.models import Member
from app.ordering.held import put_held_in_cart

ID = "int(max=2147483647)"
def _labels() -> dict[str, str]:
    return {
        "open": _("Waiting"),
        "notified": _("In stock: you were told"),
        "fulfilled": _("Bought"),
        "cancelled": _("Cancelled"),
        "expired": _("Hold ended"),
    }


def _member() -> Member:
    return current_user._get_current_object()


def _show_error(form, error: DomainError) -> None:
    field = getattr(form, getattr(error, "field", ""), None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(404)
    return int(raw)


# --------------------------------------------------------------------------- book page glue


@bp.app_context_processor
def demand_helpers() -> dict:
    """`demand_state(book)` for the book page's "tell me when it is in stock" panel."""

    def demand_state(book: Book) -> dict:
        state: dict = {"demand": None, "hold": None, "form": None}
        if current_user.is_authenticated:
            member = _member()
            state["demand"] = demand_service.open_demand(member, book)
            state["hold"] = demand_service.active_hold(member, book)
            form = NotifyMeForm(formdata=None)
            if state["demand"] is not None:
                form.quantity.data = state["demand"].quantity
                form.note.data = state["demand"].note
            state["form"] = form
        else:
            state["form"] = VisitorNotifyForm(formdata=None)
        return state

    return {"demand_state": demand_state}


# --------------------------------------------------------------------------- the member's list


@bp.route("/")
@login_required
def my_list():
    pagination = demand_service.demands_for_member(_member(), _page())
    return render_template("demand/list.html", pagination=pagination, labels=_labels(),
                           action_form=ActionForm(), title=_("My demand list"))


def _own_entry_action(action, entry_id: int):
    """Run a button's action on one of the member's own entries: 400 for a bad form (its CSRF
    token), 404 when the entry is not theirs or gone; other refusals leave the view."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        return action(_member(), entry_id)
    except NotFound:
        abort(404)


@bp.post(f"/<{ID}:demand_id>/cancel")
@login_required
@back_on_error("demand.my_list")
def cancel(demand_id: int):
    demand = _own_entry_action(demand_service.cancel_demand, demand_id)
    flash(_("“%(title)s” is off your demand list.", title=demand.display_title), "success")
    return redirect(url_for("demand.my_list"))


@bp.post(f"/holds/<{ID}:hold_id>/cart")
@login_required
@back_on_error("demand.my_list")
def hold_to_cart(hold_id: int):
    _own_entry_action(put_held_in_cart, hold_id)
    flash(_("Your held copies are in your cart. Check out before the hold ends."), "success")
    return redirect(url_for("cart.checkout"))


# --------------------------------------------------------------------------- tell me when


def _visitor_limit() -> str:
    return current_app.config["DEMAND_VISITOR_RATE_LIMIT"]


@bp.route(f"/book/<{ID}:book_id>", methods=["GET", "POST"])
@limiter.limit(_visitor_limit, methods=["POST"],
               exempt_when=lambda: current_user.is_authenticated)
def notify_me(book_id: int):
    book = db.get_or_404(Book, book_id)
    if not book.is_active:
        abort(404)
    member = _member() if current_user.is_authenticated else None
    form = NotifyMeForm() if member is not None else VisitorNotifyForm()
    if request.method == "GET" and member is not None:
        existing = demand_service.open_demand(member, book)
        if existing is not None:
            form.quantity.data, form.note.data = existing.quantity, existing.note
    if form.validate_on_submit():
        try:
            if member is not None:
                updating = demand_service.open_demand(member, book) is not None
                demand_service.record_demand(member, book, form.quantity.data, form.note.data)
            else:
                visitors.record_visitor_demand(form.email.data, book, form.quantity.data,
                                               form.note.data)
        except DomainError as exc:
            _show_error(form, exc)  # shown again with 400 below: the refused work is undone
        else:
            if member is None:
                flash(_("Almost done: we have emailed you a link. Open it to confirm, and we "
                        "will tell you when “%(title)s” is in stock.", title=book.title),
                      "success")
                return redirect(url_for("shop.book", book_id=book.id))
            if updating:
                flash(_("Your request for “%(title)s” is updated.", title=book.title),
                      "success")
            else:
                flash(_("We will email you when “%(title)s” is in stock.", title=book.title),
                      "success")
            return redirect(url_for("demand.my_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("demand/notify.html", form=form, book=book,
                           title=_("Tell me when it is in stock")), status


@bp.route("/request", methods=["GET", "POST"])
@login_required
def request_book():
    form = RequestBookForm()
    if form.validate_on_submit():
        try:
            demand = uncatalogued.request_uncatalogued(
                _member(), form.title.data, form.author.data, form.isbn.data, form.note.data,
                form.quantity.data)
        except DomainError as exc:
            _show_error(form, exc)  # shown again with 400 below: the refused work is undone
        else:
            if demand.book_id is not None:
                flash(_("We carry that book: we will email you when “%(title)s” is in stock.",
                        title=demand.display_title), "success")
            else:
                flash(_("Thank you: we have noted your request for “%(title)s”.",
                        title=demand.display_title), "success")
            return redirect(url_for("demand.my_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("demand/request.html", form=form,
                           title=_("Ask for a book we do not carry")), status


# --------------------------------------------------------------------------- visitors


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET shows a button (mail scanners follow links; only a person's POST confirms)."""
    try:
        demand = visitors.pending_for_token(token)
    except NotFound as exc:
        return render_template("demand/link_invalid.html", message=exc.message,
                               title=_("Link not valid")), 404
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        visitors.confirm_visitor_demand(token)
        flash(_("Thank you: we will email you when “%(title)s” is in stock.",
                title=demand.display_title), "success")
        return redirect(url_for("shop.book", book_id=demand.book_id))
    return render_template("demand/confirm.html", demand=demand, form=form,
                           title=_("Confirm your request"))


# RFC 8058 §3.1: a mail client's one-click opt-out POSTs exactly this field and value.
ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"
# The link is a signed token in the URL: no Referer carries it to another page.
_NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def _one_click() -> bool:
    return request.form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # checked below: an RFC 8058 one-click body, or else the form's CSRF token
def unsubscribe(token: str):
    """GET asks to confirm (mail scanners follow links). A POST opts out when it is a mail
    client's one-click request (body `List-Unsubscribe=One-Click`, no cookie, no CSRF token:
    the signed token is the proof) or the confirmation form with its CSRF token; any other
    POST (another site's form, an empty body) is refused with 400 and changes nothing."""
    try:
        target = tokens.read_token(token)
        address = unsubscribe_service.describe(target)
    except DomainError as exc:
        return render_template("demand/link_invalid.html", message=exc.message,
                               title=_("Link not valid")), 400, _NO_REFERRER
    form = ActionForm()
    if request.method == "POST":
        if not _one_click() and not form.validate_on_submit():
            abort(400)
        unsubscribe_service.unsubscribe(token)
        return render_template("demand/unsubscribed.html", address=address,
                               news=target.news, title=_("Unsubscribed")), 200, _NO_REFERRER
    return render_template("demand/unsubscribe.html", address=address, token=token,
                           news=target.news, form=form,
                           title=_("Unsubscribe")), 200, _NO_REFERRER


# --------------------------------------------------------------------------- preferences


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    member = _member()
    if request.method == "GET":
        form = PreferencesForm(formdata=None, data={"stock_alerts": member.stock_alerts_opt_in,
                                                    "news": member.mail_opt_in})
    else:
        form = PreferencesForm()
    if form.validate_on_submit():
        demand_service.set_preferences(member, stock_alerts=form.stock_alerts.data,
                                       news=form.news.data)
        flash(_("Your mail preferences are saved."), "success")
        return redirect(url_for("demand.preferences"))
    status = 400 if request.method == "POST" else 200
    return render_template("demand/preferences.html", form=form,
                           title=_("Mail preferences")), status
