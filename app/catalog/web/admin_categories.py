"""Admin categories: the shelves books sit on, with how many books each holds.

Every change is written to the audit log by the service that makes it (app.catalog.editing)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import ID, form_status
from app.admin.forms import ActionForm
from app.catalog import editing as books_admin
from app.catalog import staff_lists
from app.catalog.models import Category
from app.catalog.web.forms import CategoryForm
from app.catalog.web.staff import saved
from app.catalog.web.views import forget_catalog
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import after_commit, back_on_error


@bp.route("/categories")
def categories():
    rows, uncategorised = staff_lists.categories_with_counts()
    return render_template("admin/categories/list.html", rows=rows,
                           uncategorised=uncategorised, title=_l("Categories"))


def _category_input(form: CategoryForm) -> books_admin.CategoryInput:
    return books_admin.CategoryInput(
        slug=form.slug.data or "",
        name=form.name.data or "",
        description=form.description.data or None,
        position=form.position.data,
        names=form.translated_names(),
        descriptions=form.translated_descriptions(),
    )


@bp.route("/categories/new", methods=["GET", "POST"])
def category_new():
    form = CategoryForm()
    if form.validate_on_submit():
        category = saved(form, lambda: books_admin.create_category(_category_input(form),
                                                                   current_user))
        if category is not None:
            flash(_("Category “%(name)s” was created.", name=category.name), "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/categories/form.html", form=form, category=None,
                           delete_form=None, title=_l("New category")), form_status(form)


@bp.route(f"/categories/<{ID}:category_id>/edit", methods=["GET", "POST"])
def category_edit(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = CategoryForm(obj=category, **CategoryForm.names_of(category))
    if form.validate_on_submit():
        if saved(form, lambda: books_admin.update_category(category, _category_input(form),
                                                           current_user)):
            flash(_("Category “%(name)s” was saved.", name=category.name), "success")
            return redirect(url_for("admin.categories"))
    book_count = staff_lists.books_in_category(category)
    return render_template("admin/categories/form.html", form=form, category=category,
                           book_count=book_count, delete_form=ActionForm(),
                           title=_l("Edit category")), form_status(form)


@bp.route(f"/categories/<{ID}:category_id>/delete", methods=["POST"])
@back_on_error("admin.category_edit")
def category_delete(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("admin.category_edit", category_id=category.id))
    name = category.name
    books_admin.delete_category(category, current_user)
    after_commit(forget_catalog)
    flash(_("Category “%(name)s” was deleted.", name=name), "success")
    return redirect(url_for("admin.categories"))


register_nav(__name__, "admin.categories", _l("Categories"), order=20)
