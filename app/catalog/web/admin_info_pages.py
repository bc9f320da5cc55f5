"""Admin information pages: the shipping and returns, privacy and terms pages, in every
language the shop speaks. Admins only (what the shop promises its customers); every save is
audited by the service (app.catalog.info_pages)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import admin_required, form_status
from app.catalog import info_pages
from app.catalog.editing import FieldError
from app.catalog.web.forms import InfoPageForm
from app.catalog.web.staff import show_field_error
from app.core.i18n import LANGUAGE_NAMES
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import after_commit
from app.serving import page_cache


@bp.route("/info-pages")
@admin_required
def info_pages_list():
    return render_template("admin/info_pages/list.html", slugs=info_pages.SLUGS,
                           languages=LANGUAGE_NAMES,
                           pages=info_pages.pages_by_slug_and_locale(),
                           title=_l("Information pages"))


@bp.route("/info-pages/<slug>/<locale>", methods=["GET", "POST"])
@admin_required
def info_page_edit(slug: str, locale: str):
    if slug not in info_pages.SLUGS or locale not in LANGUAGE_NAMES:
        abort(404)
    page = info_pages.stored_page(slug, locale)
    form = InfoPageForm(obj=page)
    if form.validate_on_submit():
        data = info_pages.PageInput(title=form.title.data or "", summary=form.summary.data or "",
                                    body=form.body.data or "")
        try:
            info_pages.save_page(slug, locale, data, current_user)
        except FieldError as error:
            show_field_error(form, error)
        else:
            after_commit(page_cache.forget_pages)
            flash(_("The page “%(name)s” (%(language)s) was saved.",
                    name=info_pages.SLUGS[slug], language=LANGUAGE_NAMES[locale]), "success")
            return redirect(url_for("admin.info_pages_list"))
    return render_template("admin/info_pages/form.html", form=form, slug=slug, locale=locale,
                           name=info_pages.SLUGS[slug], language=LANGUAGE_NAMES[locale],
                           page=page, title=_l("Edit an information page")), form_status(form)


register_nav(__name__, "admin.info_pages_list", _l("Information pages"), order=25)
