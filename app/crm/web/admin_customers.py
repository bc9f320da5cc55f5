"""Admin customers: the customer list, the 360° record, notes, tags and staff actions.

Staff read and handle customers; changing roles, exporting a member's data and erasing it are
admin only (`admin_required`, checked again by the services). Every change is
audited by the services; the request's unit of work commits it (app.core.unit_of_work). The
downloads are GET requests that write their audit entry, so they commit it themselves
(`commit_now`) before the body is sent.
"""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qsl

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import (
    ID,
    admin_or_granted,
    admin_required,
    is_admin,
    page_number,
)
from app.admin.forms import ActionForm
from app.analytics import segments
from app.campaigns import services as campaign_service
from app.core.db import utcnow
from app.core.errors import DomainError, InvalidInput, NotFound
from app.core.exports import csv_response
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error, commit_now
from app.crm import (
    customer_admin,
    customer_views,
    customers,
    erasure,
    interactions,
    member_export,
    merging,
    timeline,
)
from app.crm import tags as customer_tags
from app.crm.web.admin_customer_forms import (
    ROLE_LABELS,
    BulkActionForm,
    ContactForm,
    CustomerFilterForm,
    EraseForm,
    InteractionForm,
    MergeForm,
    RoleForm,
    SavedViewForm,
    TagForm,
    staff_choices,
)
from app.grades import grading
from app.grades.labels import reason_label, tier_label
from app.grades.table import load_rules
from app.mail.web.admin_mail_log import mail_status_label
from app.membership.members import EmailTaken, InvalidEmail
from app.membership.models import Member
from app.ordering.orders import status_label
from app.serving.templating import link_args

DEMAND_LABELS = {
    "open": _l("Waiting"),
    "notified": _l("Told: in stock"),
    "fulfilled": _l("Bought"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Hold ended"),
}


def _actor() -> Member:
    return current_user._get_current_object()


def _member(member_id: int) -> Member:
    return db.get_or_404(Member, member_id)


# --------------------------------------------------------------------------- the list


def _filter_form(rules=None, formdata=None) -> CustomerFilterForm:
    form = CustomerFilterForm(formdata=request.args if formdata is None else formdata)
    rules = grading.ordered(rules if rules is not None else load_rules())
    form.tier.choices = [SelectChoice("", _("Any grade"))] + [
        SelectChoice(r.code, tier_label(r)) for r in rules]
    form.tag.choices = [SelectChoice("", _("Any tag"))] + [
        SelectChoice(str(t.id), t.name) for t in customer_tags.all_tags()]
    form.segment.choices = [SelectChoice("", _("Any segment"))] + [
        SelectChoice(code, segments.label(code)) for code in segments.SEGMENTS]
    return form


def _filter_args() -> dict:
    return {k: v for k, v in link_args().items() if k != "page" and v}


def _refused_filters(form: CustomerFilterForm):
    return render_template("admin/customers/list.html", form=form, pagination=None,
                           tags={}, tier_names={}, export_args={},
                           views=customer_views.views_for(_actor()),
                           view_form=SavedViewForm(formdata=None), bulk_form=_bulk_form(),
                           list_query="", title=_("Customers")), 400


@bp.route("/customers", endpoint="customers")
def customers_list():
    rules = load_rules()
    form = _filter_form(rules)
    if request.args and not form.validate():
        return _refused_filters(form)
    pagination = customers.list_customers(form.filters(), page=page_number())
    ids = [m.id for m in pagination.items]
    return render_template(
        "admin/customers/list.html", form=form, pagination=pagination,
        tags=customers.tags_of(ids),
        tier_names={r.code: tier_label(r) for r in rules},
        export_args=_filter_args(), title=_("Customers"),
        may_export=customer_admin.may_export_customer_list(_actor()),
        views=customer_views.views_for(_actor()), view_form=SavedViewForm(formdata=None),
        bulk_form=_bulk_form(), list_query=customer_views.clean_query(request.args))


@bp.route("/customers.csv")
@admin_or_granted(customer_admin.may_export_customer_list)
def customers_csv():
    """The whole list the filters select: admins, and staff an admin allowed; each download is
    audited with its filters and row count before it starts."""
    form = _filter_form()
    if not form.validate():
        return _refused_filters(form)  # the list with the messages, not a file cut short
    filters = form.filters()
    customer_admin.record_list_export(_actor(), _filter_args(),
                                      customers.count_customers(filters))
    commit_now()  # the download is audited before its first byte is sent
    return csv_response(customers.customer_csv_rows(filters),
                        f"customers-{date.today().isoformat()}.csv")


# --------------------------------------------------------------------------- views, bulk


def _list_url(query: str) -> str:
    return url_for("admin.customers") + (f"?{query}" if query else "")


@bp.route("/customers/views", methods=["POST"])
@back_on_error(lambda **_v: _list_url(request.form.get("query", "")))
def customer_view_save():
    form = SavedViewForm()
    query = request.form.get("query", "")[:customer_views.QUERY_MAX]
    if not form.validate_on_submit():
        flash(next(iter(e for errors in form.errors.values() for e in errors),
                   _("Please check what you entered.")), "error")
        return redirect(_list_url(query))
    view = customer_views.save_view(_actor(), form.name.data, MultiDict(parse_qsl(query)),
                                    bool(form.shared.data))
    flash(_("The view “%(name)s” is saved.", name=view.name), "success")
    return redirect(_list_url(view.query))


@bp.route(f"/customers/views/<{ID}:view_id>/delete", methods=["POST"])
@back_on_error("admin.customers")
def customer_view_delete(view_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        view = customer_views.view_for(_actor(), view_id)
    except NotFound:
        abort(404)
    customer_views.delete_view(view, _actor())
    flash(_("The view is deleted."), "success")
    return redirect(url_for("admin.customers"))


def _bulk_form(formdata=None) -> BulkActionForm:
    form = BulkActionForm() if formdata is not None else BulkActionForm(formdata=None)
    form.assignee.choices = staff_choices(interactions.staff_members(), _("Me"))
    if formdata is None:  # shown: the draft campaigns for chosen customers to add to
        form.campaign.choices = [SelectChoice("", _("Choose a draft campaign"))] + [
            SelectChoice(str(c.id), c.name) for c in campaign_service.list_drafts()]
    for field in form:  # the list's filter form has fields of the same names: ids differ
        field.id = field.label.field_id = f"bulk-{field.name}"
    return form


@bp.route("/customers/bulk", methods=["POST"])
@back_on_error(lambda **_v: _list_url(request.form.get("query", "")))
def customers_bulk():
    """A bulk action on the ticked customers, or on every customer the filters select."""
    form = _bulk_form(request.form)
    query = request.form.get("query", "")[:customer_views.QUERY_MAX]
    if not form.validate_on_submit():
        flash(next(iter(e for errors in form.errors.values() for e in errors),
                   _("Please check what you entered.")), "error")
        return redirect(_list_url(query))
    scope = dict(parse_qsl(query))
    if form.scope.data == "filter":
        filters_form = _filter_form(formdata=MultiDict(parse_qsl(query)))
        if not filters_form.validate():
            raise InvalidInput(_("Please correct the filters first."))
        ids = customer_views.selected_ids(filters=filters_form.filters())
    else:
        ids = customer_views.selected_ids(member_ids=form.member_ids())
    actor = _actor()
    if form.action.data == "export":
        # The customer list's rule: admins, and staff an admin allowed; audited, committed
        # before the first byte.
        if not customer_admin.may_export_customer_list(actor):
            abort(403)
        filters = customers.CustomerFilters(member_ids=tuple(ids))
        customer_admin.record_list_export(actor, {**scope, "member_ids": ids[:1000]},
                                          len(ids))
        commit_now()
        return csv_response(customers.customer_csv_rows(filters),
                            f"customers-{date.today().isoformat()}.csv")
    if form.action.data == "tag":
        count = customer_views.bulk_tag(actor, ids, form.tag.data or "", scope)
    elif form.action.data == "untag":
        count = customer_views.bulk_untag(actor, ids, form.tag.data or "", scope)
    elif form.action.data == "campaign":
        campaign, added = customer_views.bulk_campaign(actor, ids, form.campaign_id(), scope)
        if added == len(ids):
            flash(ngettext("%(num)d customer added to the campaign “%(name)s”.",
                           "%(num)d customers added to the campaign “%(name)s”.", added,
                           name=campaign.name), "success")
        else:
            flash(ngettext("%(num)d customer added to the campaign “%(name)s”; the others "
                           "were on its list already (or are not customers).",
                           "%(num)d customers added to the campaign “%(name)s”; the others "
                           "were on its list already (or are not customers).", added,
                           name=campaign.name), "success")
        return redirect(_list_url(query))
    else:
        count = customer_views.bulk_task(
            actor, ids, body=form.body.data or "", due_on=form.due_on.data,
            assignee_id=form.assignee_id(), priority=form.priority.data, scope=scope)
    flash(ngettext("Done for %(num)d customer.", "Done for %(num)d customers.", count),
          "success")
    return redirect(_list_url(query))


# --------------------------------------------------------------------------- the record


def _interaction_form(formdata=None) -> InteractionForm:
    form = InteractionForm() if formdata is not None else InteractionForm(formdata=None)
    form.assignee.choices = staff_choices(interactions.staff_members(), _("Me"))
    return form


def _timeline_filters() -> tuple[str | None, str | None, int]:
    """The record's timeline filters from the query string; anything unknown is ignored."""
    phase = request.args.get("phase") or None
    kind = request.args.get("kind") or None
    phase = phase if phase in timeline.PHASES else None
    kind = kind if kind in {s.kind for s in timeline.timeline_sources()} else None
    raw = request.args.get("tpage", "")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 1
    return phase, kind, max(page, 1)


def _render_record(member: Member, *, interaction_form=None, tag_form=None, status=200):
    record = customers.customer_record(member)
    phase, kind, tpage = _timeline_filters()
    story = timeline.timeline(member.id, phase=phase, kind=kind, page=tpage)
    # Each panel's template gets its loader's context (and `member`) as its own variables.
    panels = [(panel, Markup(render_template(panel.template, member=member, **context)))
              for panel, context in record.panels]
    role_form = RoleForm(formdata=None, data={"role": member.role.value})
    return render_template(
        "admin/customers/record.html", record=record, member=member, panels=panels,
        interaction_form=interaction_form or _interaction_form(),
        tag_form=tag_form or TagForm(formdata=None),
        action_form=ActionForm(formdata=None), role_form=role_form,
        can_manage=customer_admin.can_manage(_actor(), member) and member.erased_at is None,
        can_admin=is_admin(), today=utcnow().date(),
        kind_label=interactions.kind_label, priority_label=interactions.priority_label,
        status_label=status_label,
        reason_label=reason_label, role_labels=ROLE_LABELS,
        demand_label=lambda status: str(DEMAND_LABELS.get(status.value, status.value)),
        mail_status_label=mail_status_label, title=member.name,
        story=story, story_phase=phase, story_kind=kind, phases=timeline.PHASES,
        story_kinds=timeline.timeline_sources(),
    ), status


@bp.route(f"/customers/<{ID}:member_id>")
def customer(member_id: int):
    return _render_record(_member(member_id))


@bp.route(f"/customers/<{ID}:member_id>/interactions", methods=["POST"])
def customer_interaction_add(member_id: int):
    member = _member(member_id)
    form = _interaction_form(request.form)
    if form.validate_on_submit():
        try:
            interactions.add_interaction(member, _actor(), form.kind.data, form.body.data,
                                         form.follow_up_on.data,
                                         assignee_id=form.assignee_id(),
                                         priority=form.priority.data,
                                         task_note=form.task_note.data)
        except InvalidInput as error:
            form.body.errors.append(error.message)
        else:
            flash(_("The note is saved."), "success")
            return redirect(url_for("admin.customer", member_id=member_id) + "#interactions")
    return _render_record(member, interaction_form=form, status=400)


def _follow_up_back(member_id: int, **_values) -> str:
    """Where a follow-up's "done" button returns: the follow-ups list or the record's notes."""
    back = request.form.get("next")
    if back == "follow_ups":
        return url_for("admin.follow_ups")
    if back in ("my_tasks", "team_tasks"):
        return url_for(f"admin.{back}")
    return url_for("admin.customer", member_id=member_id) + "#interactions"


@bp.route(f"/customers/<{ID}:member_id>/interactions/<{ID}:interaction_id>/done",
          methods=["POST"])
@back_on_error(_follow_up_back)
def customer_follow_up_done(member_id: int, interaction_id: int):
    member = _member(member_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        interaction = interactions.interaction_for(member, interaction_id)
    except NotFound:
        abort(404)
    interactions.complete_follow_up(interaction, _actor())  # FollowUpClosed: sent back
    flash(_("The follow-up is marked done."), "success")
    return redirect(_follow_up_back(member_id))


@bp.route("/follow-ups")
def follow_ups():
    """Follow-ups due today or overdue, and the next ones: mine, or everyone's (?who=all)."""
    everyone = request.args.get("who") == "all"
    staff = None if everyone else _actor()
    today = utcnow().date()
    return render_template(
        "admin/customers/follow_ups.html", everyone=everyone,
        due=interactions.follow_ups_due(today, staff),
        upcoming=interactions.follow_ups_upcoming(today, staff),
        today=today, kind_label=interactions.kind_label, action_form=ActionForm(formdata=None),
        title=_("Follow-ups"))


@bp.route(f"/customers/<{ID}:member_id>/tags", methods=["POST"])
def customer_tag_add(member_id: int):
    member = _member(member_id)
    form = TagForm()
    if form.validate_on_submit():
        try:
            tag = customer_tags.add_tag(member, form.name.data, _actor())
        except InvalidInput as error:
            form.name.errors.append(error.message)
        else:
            flash(_("Tagged “%(tag)s”.", tag=tag.name), "success")
            return redirect(url_for("admin.customer", member_id=member_id) + "#tags")
    return _render_record(member, tag_form=form, status=400)


@bp.route(f"/customers/<{ID}:member_id>/tags/<{ID}:tag_id>/remove", methods=["POST"])
def customer_tag_remove(member_id: int, tag_id: int):
    member = _member(member_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        tag = customer_tags.remove_tag(member, tag_id, _actor())
    except DomainError:
        abort(404)
    flash(_("Tag “%(tag)s” removed.", tag=tag.name), "success")
    return redirect(url_for("admin.customer", member_id=member_id) + "#tags")


# --------------------------------------------------------------------------- staff actions


def _member_form_page(template: str, member: Member, form, title: str):
    """A staff form about the member; a POST shown again (invalid or refused) answers 400, so
    the request's unit of work rolls back whatever the refused service did."""
    return render_template(template, member=member, form=form, title=title), (
        400 if request.method == "POST" else 200)


def _contact_data(member: Member) -> dict:
    return {name: getattr(member, name) for name in customer_admin.CONTACT_FIELDS}


@bp.route(f"/customers/<{ID}:member_id>/edit", methods=["GET", "POST"])
def customer_edit(member_id: int):
    member = _member(member_id)
    if not customer_admin.can_manage(_actor(), member) or member.erased_at is not None:
        if request.method == "POST":
            abort(403)
        # Staff may look (the record shows the same); the page says who may change it.
        return _member_form_page("admin/customers/edit.html", member, None,
                                 _("Edit %(name)s", name=member.name))
    form = ContactForm(data=_contact_data(member)) if request.method == "GET" else ContactForm()
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in customer_admin.CONTACT_FIELDS}
        try:
            customer_admin.update_contact(member, _actor(), **values)
        except (InvalidEmail, EmailTaken) as error:
            form.email.errors.append(error.message)
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The contact details are saved."), "success")
            return redirect(url_for("admin.customer", member_id=member_id))
    return _member_form_page("admin/customers/edit.html", member, form,
                             _("Edit %(name)s", name=member.name))


def _account_action(member_id: int, action, done: str):
    """Run a staff action on the account; a refusal (DomainError) sends the reader back to
    the record (the views name it with `back_on_error`)."""
    member = _member(member_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    action(member, _actor())
    flash(done, "success")
    return redirect(url_for("admin.customer", member_id=member_id))


@bp.route(f"/customers/<{ID}:member_id>/deactivate", methods=["POST"])
@back_on_error("admin.customer")
def customer_deactivate(member_id: int):
    return _account_action(member_id, customer_admin.deactivate,
                           _("The account is deactivated; its sessions have ended."))


@bp.route(f"/customers/<{ID}:member_id>/reactivate", methods=["POST"])
@back_on_error("admin.customer")
def customer_reactivate(member_id: int):
    return _account_action(member_id, customer_admin.reactivate,
                           _("The account is active again."))


@bp.route(f"/customers/<{ID}:member_id>/password-reset", methods=["POST"])
@back_on_error("admin.customer")
def customer_password_reset(member_id: int):
    return _account_action(member_id, customer_admin.send_password_reset,
                           _("A password reset link is on its way to the customer."))


@bp.route(f"/customers/<{ID}:member_id>/role", methods=["POST"])
@admin_required
@back_on_error("admin.customer")
def customer_role(member_id: int):
    member = _member(member_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    customer_admin.change_role(member, form.role.data, _actor())
    flash(_("%(name)s is now: %(role)s.", name=member.name,
            role=ROLE_LABELS[member.role]), "success")
    return redirect(url_for("admin.customer", member_id=member_id))


@bp.route(f"/customers/<{ID}:member_id>/export-permission", methods=["POST"])
@admin_required
@back_on_error("admin.customer")
def customer_export_permission(member_id: int):
    """Allow a member of staff to download the customer list, or stop them (audited)."""
    member = _member(member_id)
    form = ActionForm()
    allowed = request.form.get("allowed", "")
    if not form.validate_on_submit() or allowed not in {"0", "1"}:
        abort(400)
    customer_admin.set_export_permission(member, _actor(), allowed == "1")
    flash(_("%(name)s may now download the customer list.", name=member.name)
          if member.may_export_customers
          else _("%(name)s may no longer download the customer list.", name=member.name),
          "success")
    return redirect(url_for("admin.customer", member_id=member_id))


# --------------------------------------------------------------------------- export, erasure


@bp.route(f"/customers/<{ID}:member_id>/export.json")
@admin_required
def customer_export_json(member_id: int):
    member = _member(member_id)
    data = member_export.member_data(member)
    member_export.record_export(member, _actor(), "json")
    commit_now()  # a GET: the download is audited before it is sent
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=member-{member.id}.json",
        "Cache-Control": "no-store"})


@bp.route(f"/customers/<{ID}:member_id>/export.csv")
@admin_required
def customer_export_csv(member_id: int):
    member = _member(member_id)
    data = member_export.member_data(member)
    member_export.record_export(member, _actor(), "csv")
    commit_now()  # the download is audited before its first byte is sent
    return csv_response(member_export.member_data_rows(data), f"member-{member.id}.csv")


@bp.route(f"/customers/<{ID}:member_id>/erase", methods=["GET", "POST"])
@admin_required
def customer_erase(member_id: int):
    member = _member(member_id)
    form = EraseForm(member_no=member.member_no or "")
    if request.method == "POST" and member.erased_at is None and form.validate_on_submit():
        try:
            erasure.erase_member(member, _actor())
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The member's personal data is erased."), "success")
            return redirect(url_for("admin.customer", member_id=member_id))
    return _member_form_page("admin/customers/erase.html", member, form,
                             _("Erase %(name)s", name=member.name))


# --------------------------------------------------------------------------- merging


@bp.route(f"/customers/<{ID}:member_id>/merge", methods=["GET", "POST"])
@admin_required
def customer_merge(member_id: int):
    """Merge another record (by its member number) into this one; the other is erased."""
    member = _member(member_id)
    form = MergeForm()
    if request.method == "POST" and form.validate_on_submit():
        other = db.session.scalar(sa.select(Member).where(
            sa.func.upper(Member.member_no) == form.other.data.upper()))
        if other is None:
            form.other.errors.append(_("There is no record with that member number."))
        else:
            try:
                moved = merging.merge_members(member, other, _actor())
            except DomainError as error:
                db.session.rollback()
                form.form_errors.append(error.message)
            else:
                flash(_("The records are merged: %(orders)d orders, %(demands)d demands and "
                        "%(notes)d notes moved here; the other record is erased.",
                        orders=moved["orders"], demands=moved["demands"],
                        notes=moved["notes"]), "success")
                return redirect(url_for("admin.customer", member_id=member_id))
    return _member_form_page("admin/customers/merge.html", member, form,
                             _("Merge into %(name)s", name=member.name))


register_nav(__name__, "admin.customers", _l("Customers"), order=15)
