"""Admin categories: the shelves books sit on, with how many books each holds.

Every change is written to the audit log ("category.create", "category.update",
"category.delete")."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import ID, form_status
from app.admin.forms import ActionForm
from app.catalog import editing as books_admin
from app.catalog.models import Book, Category
from app.catalog.web.forms import CategoryForm
from app.catalog.web.views import forget_catalog
from app.core.audit import record as audit
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l

CATEGORY_FIELDS = ("slug", "name", "description", "position")


@bp.route("/categories")
def categories():
    book_count = sa.func.count(Book.id)
    active_count = sa.func.count(sa.case((Book.is_active.is_(True), Book.id), else_=None))
    rows = db.session.execute(
        sa.select(Category, book_count.label("books"), active_count.label("active"))
        .outerjoin(Book, Book.category_id == Category.id)
        .group_by(Category.id)
        .order_by(Category.position, Category.name)
    ).all()
    uncategorised = db.session.scalar(
        sa.select(sa.func.count(Book.id)).where(Book.category_id.is_(None))
    )
    return render_template("admin/categories/list.html", rows=rows,
                           uncategorised=uncategorised, title=_l("Categories"))


def _category_input(form: CategoryForm) -> books_admin.CategoryInput:
    return books_admin.CategoryInput(
        slug=form.slug.data or "",
        name=form.name.data or "",
        description=form.description.data or None,
        position=form.position.data,
    )


def _show_error(form: CategoryForm, error: books_admin.FieldError) -> None:
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


@bp.route("/categories/new", methods=["GET", "POST"])
def category_new():
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = books_admin.create_category(_category_input(form))
            audit.record(current_user.id, current_user.email, "category.create", category,
                         after=audit.snapshot(category, CATEGORY_FIELDS),
                         summary=f"Created category “{category.name}”")
        except books_admin.FieldError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            forget_catalog()
            flash(_("Category “%(name)s” was created.", name=category.name), "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/categories/form.html", form=form, category=None,
                           delete_form=None, title=_l("New category")), form_status(form)


@bp.route(f"/categories/<{ID}:category_id>/edit", methods=["GET", "POST"])
def category_edit(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        before = audit.snapshot(category, CATEGORY_FIELDS)
        try:
            books_admin.update_category(category, _category_input(form))
            audit.record(current_user.id, current_user.email, "category.update", category,
                         before=before, after=audit.snapshot(category, CATEGORY_FIELDS),
                         summary=f"Edited category “{category.name}”")
        except books_admin.FieldError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            forget_catalog()
            flash(_("Category “%(name)s” was saved.", name=category.name), "success")
            return redirect(url_for("admin.categories"))
    book_count = db.session.scalar(
        sa.select(sa.func.count(Book.id)).where(Book.category_id == category.id)
    )
    return render_template("admin/categories/form.html", form=form, category=category,
                           book_count=book_count, delete_form=ActionForm(),
                           title=_l("Edit category")), form_status(form)


@bp.route(f"/categories/<{ID}:category_id>/delete", methods=["POST"])
def category_delete(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("admin.category_edit", category_id=category.id))
    name = category.name
    before = audit.snapshot(category, CATEGORY_FIELDS)
    try:
        books_admin.delete_category(category)
        audit.record(current_user.id, current_user.email, "category.delete",
                     target_type="category", target_id=category_id, before=before,
                     summary=f"Deleted category “{name}”")
    except books_admin.CategoryNotEmpty as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.category_edit", category_id=category_id))
    db.session.commit()
    forget_catalog()
    flash(_("Category “%(name)s” was deleted.", name=name), "success")
    return redirect(url_for("admin.categories"))


register_nav(__name__, "admin.categories", _l("Categories"), order=20)
