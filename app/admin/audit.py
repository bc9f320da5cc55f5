"""Admin audit log browser: who changed what, when, before and after. Admins only.

The entries are written by the services through app.core.audit.record.record; this module
reads them (app.core.audit.query): a filtered, paginated list, one entry with its before
and after side by side, and the same filters as a streamed CSV download (itself audited).
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import ID, PER_PAGE, admin_required, page_number
from app.admin.forms import AuditFilterForm
from app.core.audit import query as audit_query
from app.core.audit.models import AuditEntry
from app.core.exports import csv_response
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import commit_now

FILTER_ARGS = ("actor", "action", "target_type", "target_id", "date_from", "date_to")


def _form() -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    form.action.choices = [SelectChoice("", _("Any action"))] + [
        SelectChoice(a, a) for a in audit_query.actions()]
    form.target_type.choices = [SelectChoice("", _("Any record"))] + [
        SelectChoice(t, t) for t in audit_query.target_types()]
    return form


def _filter(form: AuditFilterForm) -> audit_query.AuditFilter:
    return audit_query.AuditFilter(
        actor=form.actor.data or None, action=form.action.data or None,
        target_type=form.target_type.data or None, target_id=form.target_id.data,
        date_from=form.date_from.data, date_to=form.date_to.data,
    )


def _args() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}


@bp.route("/audit")
@admin_required
def audit():
    form = _form()
    page = page_number()
    if not form.validate():
        return render_template("admin/audit/list.html", form=form, pagination=None,
                               filter_args={}, title=_l("Audit log")), 400
    pagination = audit_query.page_of(_filter(form), page, PER_PAGE)
    return render_template("admin/audit/list.html", form=form, pagination=pagination,
                           filter_args=_args(), title=_l("Audit log"))


@bp.route("/audit.csv")
@admin_required
def audit_csv():
    form = _form()
    if not form.validate():
        return render_template("admin/audit/list.html", form=form, pagination=None,
                               filter_args={}, title=_l("Audit log")), 400
    # The log quotes what staff did to customers (their addresses in summaries, the values
    # changed): each download is audited like the customer list's, committed before it streams.
    audit_query.record_export(current_user.id, current_user.email, _args(), _filter(form))
    commit_now()
    return csv_response(audit_query.csv_rows(_filter(form)), "audit-log.csv")


@bp.route(f"/audit/<{ID}:entry_id>")
@admin_required
def audit_detail(entry_id: int):
    entry = db.get_or_404(AuditEntry, entry_id)
    return render_template("admin/audit/detail.html", entry=entry,
                           changes=audit_query.compare(entry), as_text=audit_query.display,
                           title=_("Audit entry %(id)d", id=entry.id))


register_nav(__name__, "admin.audit", _l("Audit log"), order=90)
