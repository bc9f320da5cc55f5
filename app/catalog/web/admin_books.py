"""Admin books: find, add and edit the titles the shop sells; the low-stock view.

Every add and edit is written to the audit log by the service that makes it
(app.catalog.editing)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import ID, PER_PAGE, form_status, page_number
from app.catalog import editing as books_admin
from app.catalog import staff_lists
from app.catalog.models import Book
from app.catalog.web.forms import BookFilterForm, BookForm, LowStockForm
from app.catalog.web.staff import saved
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l


@bp.route("/books")
def books():
    form = BookFilterForm(formdata=request.args)
    page = page_number()
    if not form.validate():
        return render_template("admin/books/list.html", form=form, pagination=None,
                               title=_l("Books")), 400
    threshold = current_app.config["LOW_STOCK_THRESHOLD"]
    stmt = staff_lists.books_query(text=form.q.data, stock=form.stock.data, sort=form.sort.data,
                                   low_stock_threshold=threshold)
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=True)
    return render_template("admin/books/list.html", form=form, pagination=pagination,
                           low_stock_threshold=threshold, title=_l("Books"))


@bp.route("/books/low-stock")
def books_low_stock():
    """Books for sale at or below the low-stock threshold (config LOW_STOCK_THRESHOLD, or
    ?threshold=N), emptiest and best-selling first, with the readers waiting for each."""
    form = LowStockForm(formdata=request.args)
    page = page_number()
    default = current_app.config["LOW_STOCK_THRESHOLD"]
    if not form.validate():
        return render_template("admin/books/low_stock.html", form=form, pagination=None,
                               threshold=default, waiting={},
                               title=_l("Low stock")), 400
    threshold = default if form.threshold.data is None else form.threshold.data
    pagination = db.paginate(staff_lists.low_stock_query(threshold), page=page,
                             per_page=PER_PAGE, error_out=True)
    waiting = staff_lists.waiting_readers([book.id for book in pagination.items])
    return render_template("admin/books/low_stock.html", form=form, pagination=pagination,
                           threshold=threshold, waiting=waiting, title=_l("Low stock"))


def _category_choices() -> list[SelectChoice]:
    categories = staff_lists.category_options()
    return [SelectChoice(0, _("— No category —"))] + [
        SelectChoice(row.id, row.name) for row in categories
    ]


def _book_input(form: BookForm) -> books_admin.BookInput:
    return books_admin.BookInput(
        title=form.title.data or "",
        authors=form.authors.data or "",
        price=form.price.data,
        stock_on_hand=form.stock_on_hand.data,
        year=form.year.data,
        isbn=form.isbn.data or None,
        language=form.language.data or None,
        publisher=form.publisher.data or None,
        description=form.description.data or None,
        category_id=form.category_id.data or None,
        is_active=form.is_active.data,
        alt_titles=form.alt_titles(),
    )




@bp.route("/books/new", methods=["GET", "POST"])
def book_new():
    form = BookForm()
    form.category_id.choices = _category_choices()
    if form.validate_on_submit():
        book = saved(form, lambda: books_admin.create_book(_book_input(form), current_user))
        if book is not None:
            flash(_("“%(title)s” was added to the catalog.", title=book.title), "success")
            return redirect(url_for("admin.book_edit", book_id=book.id))
    return render_template("admin/books/form.html", form=form, book=None,
                           title=_l("New book")), form_status(form)


@bp.route(f"/books/<{ID}:book_id>/edit", methods=["GET", "POST"])
def book_edit(book_id: int):
    book = db.get_or_404(Book, book_id)
    form = BookForm(obj=book, **BookForm.alt_title_data(book))
    form.category_id.choices = _category_choices()
    if request.method == "GET":
        form.isbn.data = book.isbn13 or book.isbn10 or ""
        form.category_id.data = book.category_id or 0
    if form.validate_on_submit():
        if saved(form, lambda: books_admin.update_book(book, _book_input(form), current_user)):
            flash(_("Your changes to “%(title)s” were saved.", title=book.title), "success")
            return redirect(url_for("admin.book_edit", book_id=book.id))
    return render_template("admin/books/form.html", form=form, book=book,
                           title=_l("Edit book")), form_status(form)


register_nav(__name__, "admin.books", _l("Books"), order=10)
