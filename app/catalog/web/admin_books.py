"""Admin books: find, add and edit the titles the shop sells; the low-stock view.

Every add and edit is written to the audit log ("book.create", "book.update")."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import ID, PER_PAGE, form_status, page_number
from app.catalog import editing as books_admin
from app.catalog import isbn as isbn_rules
from app.catalog.models import Book, Category
from app.catalog.web.forms import BookFilterForm, BookForm, LowStockForm
from app.catalog.web.views import forget_catalog
from app.core.audit import record as audit
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.text import contains_pattern, fold
from app.demand.models import Demand

SORTS = {
    "title": (Book.title_sort, Book.id),
    "newest": (Book.created_at.desc(), Book.id.desc()),
    "stock": (Book.stock_on_hand, Book.title_sort, Book.id),
    "price": (Book.price, Book.title_sort, Book.id),
    "price_desc": (Book.price.desc(), Book.title_sort, Book.id),
    "sold": (Book.sold_count.desc(), Book.title_sort, Book.id),
}
BOOK_FIELDS = ("title", "authors", "year", "isbn13", "isbn10", "language", "publisher",
               "description", "price", "stock_on_hand", "category_id", "is_active")
_ISBN_LIKE = re.compile(r"[\d\s\-‐xX]{4,}")


def _matching(query: str) -> sa.ColumnElement[bool]:
    """Title, authors or ISBN containing the typed text (case and accents ignored)."""
    conditions = [Book.search_text.like(contains_pattern(fold(query)), escape="\\")]
    if _ISBN_LIKE.fullmatch(query):  # ISBNs are indexed without hyphens or spaces
        digits = isbn_rules.clean(query).lower()
        conditions.append(Book.search_text.like(contains_pattern(digits), escape="\\"))
    return sa.or_(*conditions)


@bp.route("/books")
def books():
    form = BookFilterForm(formdata=request.args)
    page = page_number()
    if not form.validate():
        return render_template("admin/books/list.html", form=form, pagination=None,
                               title=_l("Books")), 400
    stmt = sa.select(Book).options(selectinload(Book.category))
    if form.q.data:
        stmt = stmt.where(_matching(form.q.data))
    threshold = current_app.config["LOW_STOCK_THRESHOLD"]
    if form.stock.data == "low":
        stmt = stmt.where(Book.stock_on_hand <= threshold, Book.is_active.is_(True))
    elif form.stock.data == "out":
        stmt = stmt.where(Book.stock_on_hand == 0)
    elif form.stock.data == "inactive":
        stmt = stmt.where(Book.is_active.is_(False))
    stmt = stmt.order_by(*SORTS[form.sort.data])
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
    stmt = (
        sa.select(Book).options(selectinload(Book.category))
        .where(Book.is_active.is_(True), Book.stock_on_hand <= threshold)
        .order_by(Book.stock_on_hand, Book.sold_count.desc(), Book.id)
    )
    pagination = db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=True)
    ids = [book.id for book in pagination.items]
    waiting = dict(db.session.execute(
        sa.select(Demand.book_id, sa.func.count(Demand.id))
        .where(Demand.book_id.in_(ids), Demand.is_waiting)
        .group_by(Demand.book_id)
    ).all()) if ids else {}
    return render_template("admin/books/low_stock.html", form=form, pagination=pagination,
                           threshold=threshold, waiting=waiting, title=_l("Low stock"))


def _category_choices() -> list[SelectChoice]:
    categories = db.session.execute(
        sa.select(Category.id, Category.name).order_by(Category.position, Category.name)
    ).all()
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
    )


def _show_error(form: BookForm, error: books_admin.FieldError) -> None:
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


@bp.route("/books/new", methods=["GET", "POST"])
def book_new():
    form = BookForm()
    form.category_id.choices = _category_choices()
    if form.validate_on_submit():
        try:
            book = books_admin.create_book(_book_input(form))
            audit.record(current_user.id, current_user.email, "book.create", book,
                         after=audit.snapshot(book, BOOK_FIELDS),
                         summary=f"Added “{book.title}”")
        except books_admin.FieldError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            forget_catalog()
            flash(_("“%(title)s” was added to the catalog.", title=book.title), "success")
            return redirect(url_for("admin.book_edit", book_id=book.id))
    return render_template("admin/books/form.html", form=form, book=None,
                           title=_l("New book")), form_status(form)


@bp.route(f"/books/<{ID}:book_id>/edit", methods=["GET", "POST"])
def book_edit(book_id: int):
    book = db.get_or_404(Book, book_id)
    form = BookForm(obj=book)
    form.category_id.choices = _category_choices()
    if request.method == "GET":
        form.isbn.data = book.isbn13 or book.isbn10 or ""
        form.category_id.data = book.category_id or 0
    if form.validate_on_submit():
        before = audit.snapshot(book, BOOK_FIELDS)
        try:
            books_admin.update_book(book, _book_input(form))
            audit.record(current_user.id, current_user.email, "book.update", book,
                         before=before, after=audit.snapshot(book, BOOK_FIELDS),
                         summary=f"Edited “{book.title}”")
        except books_admin.FieldError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            forget_catalog()
            flash(_("Your changes to “%(title)s” were saved.", title=book.title), "success")
            return redirect(url_for("admin.book_edit", book_id=book.id))
    return render_template("admin/books/form.html", form=form, book=book,
                           title=_l("Edit book")), form_status(form)


register_nav(__name__, "admin.books", _l("Books"), order=10)
