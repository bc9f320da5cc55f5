"""Admin demand: what readers wait for, per book (with a CSV export and conversion figures),
and requests for books we do not carry, grouped, with a way to link them to a book."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.admin import bp, register_nav
from app.admin.common import PER_PAGE, page_number
from app.admin.forms import ActionForm, QueryForm, stripped
from app.core.errors import NotFound
from app.core.exports import csv_response
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error
from app.demand import reports, uncatalogued
from app.demand.stock import find_book

DEMAND_SORTS = [
    SelectChoice("waiting", _l("Most readers waiting")),
    SelectChoice("quantity", _l("Most copies wanted")),
    SelectChoice("suggested", _l("Largest purchase suggested")),
    SelectChoice("oldest", _l("Oldest request first")),
    SelectChoice("newest", _l("Newest request first")),
    SelectChoice("title", _l("Title A–Z")),
    SelectChoice("stock", _l("Stock, lowest first")),
]


class DemandFilterForm(QueryForm):
    q = StringField(_l("Title, author or ISBN"), filters=[stripped],
                    validators=[Length(max=200)])
    out = BooleanField(_l("Out of stock only"))
    sort = SelectField(_l("Sort by"), choices=DEMAND_SORTS, default="waiting")


class LinkRequestsForm(ActionForm):
    group = HiddenField(validators=[DataRequired(), Length(max=600)])
    book = StringField(_l("Book id or ISBN"), filters=[stripped],
                       validators=[DataRequired(_l("Enter the book's id or ISBN.")),
                                   Length(max=20, message=_l("Enter the book's id or ISBN."))])


def _filters() -> DemandFilterForm:
    form = DemandFilterForm(formdata=request.args)
    if not form.validate():
        abort(400)
    return form


@bp.route("/demand")
def demand():
    form = DemandFilterForm(formdata=request.args)
    page = page_number()
    if not form.validate():
        return render_template("admin/demand/list.html", form=form, result=None,
                               title=_l("Demand")), 400
    result = reports.demand_by_book(form.q.data or None, form.out.data,
                                    form.sort.data, page, PER_PAGE)
    if page > 1 and page > result.pages:
        abort(404)
    overall, per_book = reports.conversion([d.book_id for d in result.items])
    return render_template("admin/demand/list.html", form=form, result=result,
                           overall=overall, per_book=per_book, title=_l("Demand"))


@bp.route("/demand.csv")
def demand_csv():
    form = _filters()
    rows = reports.demand_csv_rows(form.q.data or None, form.out.data, form.sort.data)
    return csv_response(rows, "demand.csv")


@bp.route("/demand/requests")
def demand_requests():
    groups = uncatalogued.uncatalogued_groups()
    return render_template("admin/demand/requests.html", groups=groups,
                           forms={g.key: LinkRequestsForm(formdata=None, group=g.key)
                                  for g in groups},
                           title=_l("Requested books"))


def _requests_page(failed: LinkRequestsForm):
    """The requests page again, with the failed form's errors beside its group's field."""
    groups = uncatalogued.uncatalogued_groups()
    forms = {g.key: LinkRequestsForm(formdata=None, group=g.key) for g in groups}
    if failed.group.data in forms:
        forms[failed.group.data] = failed
    else:
        failed.form_errors.append(_("Those requests are no longer open."))
    return render_template("admin/demand/requests.html", groups=groups, forms=forms,
                           failed=failed, title=_l("Requested books")), 400


@bp.post("/demand/requests/link")
@back_on_error("admin.demand_requests")
def demand_link():
    form = LinkRequestsForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors or "group" in form.errors:
            abort(400)
        return _requests_page(form)
    try:
        book = find_book(form.book.data)
        count = uncatalogued.link_group(form.group.data, book,
                                        actor=current_user._get_current_object())
    except NotFound as exc:  # shown again with 400: nothing is kept
        form.book.errors = [*form.book.errors, exc.message]
        return _requests_page(form)
    flash(_("%(count)d request(s) now wait for “%(title)s”.", count=count, title=book.title),
          "success")
    return redirect(url_for("admin.demand_requests"))


register_nav(__name__, "admin.demand", _l("Demand"), order=40)
