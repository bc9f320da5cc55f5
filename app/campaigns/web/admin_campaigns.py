"""Admin: campaigns. Pick an audience (RFM segment, grade, everyone, or customers chosen on
the customer list), write the mail, preview it for a real member, send it through the outbox
with a random hold-out, and read the uplift afterwards.

Roles: staff may draft, edit and preview, and fill a draft's chosen list (from the customer
list's bulk action) or take people off it (preparing a campaign changes nothing for members);
only an admin may send, because a send reaches thousands of members and cannot be undone.
Every draft, edit, change to a list and send is in the audit log.
"""

from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.admin import bp, register_nav
from app.admin.common import ID, admin_required, form_status, is_admin, page_number
from app.admin.forms import ActionForm, stripped
from app.campaigns import services as campaign_service
from app.campaigns.models import Campaign
from app.core.extensions import db
from app.core.forms import AppForm, DecimalInput
from app.core.i18n import lazy_gettext as _l
from app.core.security import CONTROL_CHARACTERS
from app.core.unit_of_work import back_on_error
from app.grades.labels import tier_label
from app.grades.table import load_rules
from app.membership.models import Member

HUNDRED = Decimal("100")


def audience_choices() -> list[tuple[str, str]]:
    from app.analytics import segments

    choices = [("all", _("All members")),
               ("list", _("Chosen customers (added from the customer list)"))]
    choices += [(f"segment:{code}", _("Segment: %(name)s", name=segments.label(code)))
                for code in segments.SEGMENTS]
    choices += [(f"tier:{rule.code}", _("Grade: %(name)s", name=tier_label(rule)))
                for rule in load_rules()]
    return choices


def _select_choices() -> list[SelectChoice]:
    """The audiences, after an empty first choice (a required select needs one, issue 22: the
    reader picks, and "please choose" is refused by the field's DataRequired)."""
    return [SelectChoice("", _("Choose who gets it"))] + [
        SelectChoice(value, label) for value, label in audience_choices()]


def _audience_key(campaign: Campaign) -> str:
    if campaign.audience_kind in campaign_service.VALUELESS_KINDS:
        return campaign.audience_kind
    return f"{campaign.audience_kind}:{campaign.audience_value}"


def audience_label(campaign: Campaign, labels: dict[str, str] | None = None) -> str:
    """The campaign's audience as the form names it; `labels` (dict(audience_choices())) lets
    a list of campaigns read the grade table once, not once a row."""
    key = _audience_key(campaign)
    return (labels if labels is not None else dict(audience_choices())).get(key, key)


class CampaignForm(AppForm):
    name = StringField(_l("Name (for staff)"), filters=[stripped],
                       validators=[DataRequired(_l("Give the campaign a name.")),
                                   Length(max=120)])
    audience = SelectField(_l("Who gets it"), validators=[DataRequired()])
    subject = StringField(_l("Subject"), filters=[stripped],
                          validators=[DataRequired(_l("Write a subject.")), Length(max=200)],
                          description=_l("{name} is replaced by the member's name."))
    message = TextAreaField(_l("Message"), filters=[stripped],
                            validators=[DataRequired(_l("Write the message.")),
                                        Length(max=5000)],
                            description=_l("Plain text; an empty line starts a new paragraph. "
                                           "{name} is replaced by the member's name. Each mail "
                                           "ends with the member's personal recommendations."))
    holdout = DecimalInput(_l("Hold-out share (%)"), places=1, digits=3,
                           message=_l("Enter a percentage from 0 to 50."), validators=[
        InputRequired(_l("Enter a percentage from 0 to 50.")),
        NumberRange(min=0, max=50, message=_l("Enter a percentage from 0 to 50."))],
        description=_l("This share of the audience, drawn at random, gets nothing: comparing "
                       "them with the mailed members shows what the campaign earned."))

    def audience_parts(self) -> tuple[str, str | None]:
        kind, _sep, value = (self.audience.data or "").partition(":")
        return kind, value or None


def _form(campaign: Campaign | None = None) -> CampaignForm:
    if campaign is None or request.method == "POST":
        form = CampaignForm()
        if request.method == "GET":
            rate = Decimal(str(current_app.config.get("CAMPAIGN_HOLDOUT_RATE", "0.10")))
            form.holdout.data = rate * HUNDRED
            if request.args.get("audience") == "list":  # "start one" from the customer list
                form.audience.data = "list"
    else:
        form = CampaignForm(data={
            "name": campaign.name, "subject": campaign.subject, "message": campaign.message,
            "audience": _audience_key(campaign),
            "holdout": campaign.holdout_rate * HUNDRED})
    form.audience.choices = _select_choices()
    return form


def _save(form: CampaignForm, campaign: Campaign | None) -> Campaign | None:
    kind, value = form.audience_parts()
    values = {"name": form.name.data, "subject": form.subject.data,
              "message": form.message.data, "audience_kind": kind, "audience_value": value,
              "holdout_rate": (form.holdout.data / HUNDRED).quantize(Decimal("0.001"))}
    actor = current_user._get_current_object()
    try:
        if campaign is None:
            return campaign_service.create(actor, **values)
        return campaign_service.update(campaign, actor, **values)
    except campaign_service.CampaignError as exc:
        form.form_errors.append(exc.message)  # shown again with 400: rolled back
        return None


@bp.route("/campaigns")
def campaigns():
    labels = dict(audience_choices())
    return render_template("admin/campaigns/list.html",
                           pagination=campaign_service.list_campaigns(page_number()),
                           audience_label=lambda campaign: audience_label(campaign, labels),
                           title=_("Campaigns"))


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new():
    form = _form()
    if form.validate_on_submit():
        campaign = _save(form, None)
        if campaign is not None:
            flash(_("Campaign drafted. Check the preview before sending."), "success")
            return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    return render_template("admin/campaigns/form.html", form=form, campaign=None,
                           title=_("New campaign")), form_status(form)


@bp.route(f"/campaigns/<{ID}:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    if not campaign.is_draft:
        flash(_("This campaign has been sent; it can no longer be changed."), "error")
        return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    form = _form(campaign)
    if form.validate_on_submit():
        if _save(form, campaign) is not None:
            flash(_("Campaign saved."), "success")
            return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    return render_template("admin/campaigns/form.html", form=form, campaign=campaign,
                           title=_("Edit campaign")), form_status(form)


def _preview_member(campaign: Campaign) -> Member | None:
    """The member named by ?member= (id or email), else the first mailable audience member,
    else the member of staff looking."""
    # No id or address holds a control character (PostgreSQL refuses a NUL in a query).
    wanted = CONTROL_CHARACTERS.sub("", request.args.get("member") or "").strip()
    if wanted:
        member = campaign_service.find_member(wanted)
        if member is not None:
            return member
        flash(_("No member %(who)s; showing another.", who=wanted), "info")
    member = campaign_service.first_mailable(campaign.audience_kind, campaign.audience_value,
                                             campaign.id)
    return member or current_user._get_current_object()


@bp.route(f"/campaigns/<{ID}:campaign_id>")
def campaign_detail(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    preview = counts = chosen = None
    if campaign.is_draft:
        counts = campaign_service.audience_counts(campaign.audience_kind,
                                                  campaign.audience_value, campaign.id)
        preview = campaign_service.preview(campaign, _preview_member(campaign))
        if campaign.audience_kind == "list":
            chosen = campaign_service.list_members(campaign, page_number())
    return render_template(
        "admin/campaigns/detail.html", campaign=campaign, preview=preview, counts=counts,
        chosen=chosen, list_form=ActionForm(formdata=None),
        audience=audience_label(campaign), result=campaign_service.results(campaign),
        can_send=is_admin(), send_form=ActionForm(),
        waiting=0 if campaign.is_draft else campaign_service.queued_count(campaign),
        result_days=current_app.config.get("CAMPAIGN_RESULT_DAYS", 14),
        title=_("Campaign: %(name)s", name=campaign.name))


@bp.route(f"/campaigns/<{ID}:campaign_id>/send", methods=["POST"])
@admin_required
@back_on_error("admin.campaign_detail")
def campaign_send(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    if not ActionForm().validate():
        abort(400)
    # The audience size the admin reviewed on the campaign's page (a form without it, from
    # before the field, is sent as it stands).
    raw = (request.form.get("audience") or "").strip()
    seen = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    if raw and seen is None:
        abort(400)
    report = campaign_service.send(campaign, current_user._get_current_object(),
                                   seen_audience=seen)
    flash(_("Campaign sent: %(mailed)s mails queued, %(holdout)s members held out, "
            "%(opted)s opted out of mail.", mailed=report.mailed, holdout=report.holdout,
            opted=report.opted_out), "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign_id))


def _list_url(campaign_id: int, **_values) -> str:
    return url_for("admin.campaign_detail", campaign_id=campaign_id) + "#chosen-heading"


@bp.route(f"/campaigns/<{ID}:campaign_id>/list/<{ID}:member_id>/remove", methods=["POST"])
@back_on_error(_list_url)
def campaign_list_remove(campaign_id: int, member_id: int):
    """Take one customer off a draft's chosen list (staff and admins, as editing)."""
    campaign = db.get_or_404(Campaign, campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if campaign_service.remove_from_list(campaign, current_user._get_current_object(),
                                         member_id):
        flash(_("Taken off the list."), "success")
    else:
        flash(_("That customer is not on the list."), "info")
    return redirect(_list_url(campaign_id))


@bp.route(f"/campaigns/<{ID}:campaign_id>/list/clear", methods=["POST"])
@back_on_error(_list_url)
def campaign_list_clear(campaign_id: int):
    """Empty a draft's chosen list (staff and admins, as editing)."""
    campaign = db.get_or_404(Campaign, campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    removed = campaign_service.clear_list(campaign, current_user._get_current_object())
    flash(ngettext("The list is cleared: %(num)d customer taken off.",
                   "The list is cleared: %(num)d customers taken off.", removed), "success")
    return redirect(_list_url(campaign_id))


register_nav(__name__, "admin.campaigns", _l("Campaigns"), order=66)
