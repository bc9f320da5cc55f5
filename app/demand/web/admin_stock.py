"""Admin stock: record copies received; waiting readers are told through the outbox."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.admin import bp, register_nav
from app.admin.common import form_status
from app.admin.forms import ActionForm, Between, stripped
from app.catalog.web.views import forget_catalog
from app.core.errors import NotFound
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import after_commit
from app.demand import stock as stock_service


class StockReceiptForm(ActionForm):
    book = StringField(_l("Book id or ISBN"), filters=[stripped],
                       validators=[DataRequired(_l("Enter the book's id or ISBN.")),
                                   Length(max=20, message=_l("Enter the book's id or ISBN."))])
    quantity = IntegerField(
        _l("Copies received"),
        validators=[InputRequired(_l("Enter how many copies arrived.")),
                    Between(1, stock_service.MAX_RECEIPT_QUANTITY,
                            _l("Enter a number of copies from %(min)s to %(max)s."))],
    )
    supplier = StringField(_l("Supplier"), filters=[stripped], validators=[
        Optional(), Length(max=200, message=_l("At most %(max)d characters, please."))])
    reference = StringField(_l("Reference"), filters=[stripped],
                            description=_l("The delivery note or invoice number."),
                            validators=[Optional(), Length(max=200, message=_l(
                                "At most %(max)d characters, please."))])
    note = TextAreaField(_l("Note"), validators=[
        Optional(), Length(max=500, message=_l("At most %(max)d characters, please."))])


@bp.route("/stock/receipts", methods=["GET", "POST"])
def stock_receipts():
    form = StockReceiptForm()
    if form.validate_on_submit():
        try:
            book = stock_service.find_book(form.book.data)
            result = stock_service.receive_stock(
                book.id, form.quantity.data, form.supplier.data, form.reference.data,
                form.note.data, actor=current_user._get_current_object())
        except NotFound as exc:  # shown again with form_status 400: nothing is kept
            form.book.errors = [*form.book.errors, exc.message]
        except stock_service.ReceiptFieldError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            after_commit(forget_catalog)
            flash(_("%(qty)d copies of “%(title)s” received: %(held)d held for readers, "
                    "%(shelved)d on the shelf; %(told)d reader(s) will be told.",
                    qty=form.quantity.data, title=book.title, held=result.held,
                    shelved=result.shelved, told=result.notified), "success")
            return redirect(url_for("admin.stock_receipts"))
    return render_template("admin/stock/receipts.html", form=form,
                           receipts=stock_service.recent_receipts(),
                           title=_l("Stock arrivals")), form_status(form)


register_nav(__name__, "admin.stock_receipts", _l("Stock arrivals"), order=35)
