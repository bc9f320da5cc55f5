"""Admin: write to a customer from their record (staff), and the saved mail templates
(admins manage them; staff start from them). The services check and audit
(app.crm.customer_mail)."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from app.admin import bp, register_nav
from app.admin.common import ID, admin_required
from app.admin.forms import ActionForm
from app.core.errors import DomainError
from app.core.extensions import db
from app.core.i18n import LANGUAGE_NAMES
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error
from app.crm import customer_mail
from app.crm.models import MailTemplate
from app.crm.web.admin_customer_forms import ComposeForm, MailTemplateForm
from app.membership.models import Member


def _actor() -> Member:
    return current_user._get_current_object()


def _language(locale: str | None) -> str:
    return LANGUAGE_NAMES.get(locale or "", locale or "")


# --------------------------------------------------------------------------- writing


def _compose_page(member: Member, form: ComposeForm, status: int = 200,
                  template: MailTemplate | None = None):
    form.order_id.choices = [SelectChoice("", _("No order"))] + [
        SelectChoice(str(o.id), f"{o.number} · {o.placed_at:%Y-%m-%d}")
        for o in customer_mail.recent_orders(member)]
    if not form.form_key.data:
        form.form_key.data = secrets.token_urlsafe(18)
    return render_template(
        "admin/customers/write.html", member=member, form=form,
        template_names=customer_mail.template_names(), template=template,
        member_language=_language(member.locale), language_name=_language,
        title=_("Write to %(name)s", name=member.name)), status


@bp.route(f"/customers/<{ID}:member_id>/write", methods=["GET", "POST"])
def customer_write(member_id: int):
    member = db.get_or_404(Member, member_id)
    if member.erased_at is not None:
        abort(404)
    if request.method == "GET":
        template = None
        name = request.args.get("template", "")[:customer_mail.NAME_MAX]
        data = {}
        if name:
            template = customer_mail.template_for(name, member.locale)
            if template is None:
                flash(_("There is no such template."), "error")
            else:
                data = {"subject": template.subject, "body": template.body}
        return _compose_page(member, ComposeForm(formdata=None, data=data), template=template)
    form = ComposeForm()
    if not form.validate_on_submit():
        return _compose_page(member, form, 400)
    try:
        customer_mail.send_to_customer(
            member, _actor(), subject=form.subject.data, body=form.body.data,
            order_id=form.chosen_order_id(), book=form.book.data,
            form_key=form.form_key.data or None)
    except customer_mail.AlreadySent as error:
        db.session.rollback()
        flash(error.message, "info")
        return redirect(url_for("admin.customer", member_id=member_id) + "#mails")
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return _compose_page(member, form, 400)
    flash(_("The mail to %(name)s is on its way.", name=member.name), "success")
    return redirect(url_for("admin.customer", member_id=member_id) + "#mails")


# --------------------------------------------------------------------------- templates


def _template_form(formdata=None, **kwargs) -> MailTemplateForm:
    form = MailTemplateForm(**kwargs) if formdata is not None else MailTemplateForm(
        formdata=None, **kwargs)
    form.locale.choices = [SelectChoice(code, _language(code))
                           for code in current_app.config["LANGUAGES"]]
    return form


@bp.route("/mail-templates")
@admin_required
def mail_templates():
    return render_template("admin/customers/mail_templates.html",
                           templates=customer_mail.templates(), language_name=_language,
                           action_form=ActionForm(formdata=None), title=_("Mail templates"))


def _template_page(form: MailTemplateForm, template: MailTemplate | None, status: int = 200):
    return render_template("admin/customers/mail_template_edit.html", form=form,
                           template=template,
                           title=_("Edit the template") if template else _("New template")
                           ), status


@bp.route("/mail-templates/new", methods=["GET", "POST"])
@admin_required
def mail_template_new():
    return _save_template(None)


@bp.route(f"/mail-templates/<{ID}:template_id>", methods=["GET", "POST"])
@admin_required
def mail_template_edit(template_id: int):
    return _save_template(db.get_or_404(MailTemplate, template_id))


def _save_template(template: MailTemplate | None):
    if request.method == "GET":
        data = ({"name": template.name, "locale": template.locale, "subject": template.subject,
                 "body": template.body} if template else {})
        return _template_page(_template_form(data=data), template)
    form = _template_form(request.form)
    if not form.validate_on_submit():
        return _template_page(form, template, 400)
    try:
        customer_mail.save_template(_actor(), name=form.name.data, locale=form.locale.data,
                                    subject=form.subject.data, body=form.body.data,
                                    template=template)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        template = db.session.get(MailTemplate, template.id) if template else None
        return _template_page(form, template, 400)
    flash(_("The template is saved."), "success")
    return redirect(url_for("admin.mail_templates"))


@bp.route(f"/mail-templates/<{ID}:template_id>/delete", methods=["POST"])
@admin_required
@back_on_error("admin.mail_templates")
def mail_template_delete(template_id: int):
    template = db.get_or_404(MailTemplate, template_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    customer_mail.delete_template(_actor(), template)
    flash(_("The template is deleted."), "success")
    return redirect(url_for("admin.mail_templates"))


register_nav(__name__, "admin.mail_templates", _l("Mail templates"), order=45)
