"""Admin member grades: the tier table editor, members per tier, and one member's grade.

Staff may look; only an admin may change the table or a member's grade. The admin blueprint's
guard already refuses non-staff; every view that writes is marked `admin_required_for("POST")`
(app.admin.common), so the server refuses staff whatever the page shows. The services audit
each change ("tier.table", "tier.grade_set", "tier.grade_release"). A refused change shows the
form again with an error status, so the request's unit of work rolls it back.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.admin import bp, register_nav
from app.admin.common import ID, admin_required_for, is_admin
from app.admin.forms import Between, QueryForm, stripped
from app.core.errors import DomainError
from app.core.extensions import db
from app.core.forms import AppForm, DecimalInput
from app.core.i18n import LANGUAGE_NAMES
from app.core.i18n import lazy_gettext as _l
from app.core.money import CENT
from app.grades import grading
from app.grades.bulk_regrade import replace_table
from app.grades.errors import TierTableInvalid, problem_message
from app.grades.grading import TierRule
from app.grades.labels import code_label, reason_label, tier_label
from app.grades.reading import find_members, grade_history, member_standing, tier_counts
from app.grades.staff_grades import REASON_MAX_LENGTH, release_member_grade, set_member_grade
from app.grades.table import load_rules, table_is_saved
from app.membership.models import Member

BLANK_ROWS = 2  # empty rows offered under the table for new tiers
HUNDRED = Decimal("100")
# The languages a grade is named in besides English (its `name`, which is the fallback).
TRANSLATED_LOCALES = tuple(code for code in LANGUAGE_NAMES if code != "en")


# --------------------------------------------------------------------------- forms


class NumberField(DecimalInput):
    """A decimal typed by staff, commas allowed (app.core.forms.DecimalInput: blank is None;
    anything not a plain number, 1e309, inf, nan and -0 included, gets one clear message).
    What was typed is shown back on errors (WTForms keeps raw_data)."""

    def __init__(self, label=None, validators=None, places=2, **kwargs) -> None:
        super().__init__(label, validators, places=places, thousands=True,
                         message=_l("Enter a number such as 500 or 499.50."), **kwargs)


def _two_decimals(message):
    def check(form, field) -> None:
        if field.data is not None and field.data != field.data.quantize(CENT):
            raise ValidationError(message)
    return check


class TierRowForm(Form):
    """One row of the table. Every field is optional here: a wholly blank row is skipped, and
    the view asks for what a filled-in row is missing."""

    code = StringField(_l("Code"), filters=[stripped],
                       validators=[Optional(), Length(max=grading.CODE_MAX_LENGTH)])
    name = StringField(_l("Name"), filters=[stripped],
                       validators=[Optional(), Length(max=grading.NAME_MAX_LENGTH)])
    min_spend = NumberField(_l("From a spend of"), places=2, validators=[
        Optional(), Between(Decimal("0"), grading.MAX_SPEND,
                            _l("Enter an amount from %(min)s to %(max)s.")),
        _two_decimals(_l("Use at most two decimals, e.g. 499.50."))])
    discount = NumberField(_l("Discount (%)"), places=2, validators=[
        Optional(), Between(Decimal("0"), HUNDRED,
                            _l("Enter a percentage from %(min)s to %(max)s.")),
        _two_decimals(_l("Use at most two decimals, e.g. 7.5."))])
    perks = StringField(_l("Perks"), filters=[stripped],
                        validators=[Optional(), Length(max=grading.PERKS_MAX_LENGTH)])
    remove = BooleanField(_l("Remove"))

    def is_blank(self) -> bool:
        typed = [self.code.data, self.name.data, self.perks.data,
                 *(f.data for pair in self.translated_fields() for f in pair),
                 *(f.raw_data[0] if f.raw_data else "" for f in (self.min_spend, self.discount))]
        return not any((value or "").strip() for value in typed)

    def translated_fields(self) -> list:
        """(name field, perks field) of each other language."""
        return [(self[f"name_{locale}"], self[f"perks_{locale}"])
                for locale in TRANSLATED_LOCALES]


for _locale in TRANSLATED_LOCALES:
    setattr(TierRowForm, f"name_{_locale}", StringField(
        _l("Name in %(language)s", language=LANGUAGE_NAMES[_locale]), filters=[stripped],
        validators=[Optional(), Length(max=grading.NAME_MAX_LENGTH)]))
    setattr(TierRowForm, f"perks_{_locale}", StringField(
        _l("Perks in %(language)s", language=LANGUAGE_NAMES[_locale]), filters=[stripped],
        validators=[Optional(), Length(max=grading.PERKS_MAX_LENGTH)]))


class TierTableForm(AppForm):
    rows = FieldList(FormField(TierRowForm), min_entries=1,
                     max_entries=grading.MAX_TIERS + BLANK_ROWS)


class MemberLookupForm(QueryForm):
    q = StringField(_l("Member number or email"), filters=[stripped],
                    validators=[DataRequired(), Length(max=254)],
                    description=_l("e.g. M2025-000123 or ada@example.com; part of a name or "
                                   "email lists the matches."))


class MemberGradeForm(AppForm):
    tier = SelectField(_l("New grade"), default="")
    reason = TextAreaField(_l("Reason"), filters=[stripped], validators=[
        DataRequired(_l("Please give a reason for the change.")),
        Length(max=REASON_MAX_LENGTH)],
        description=_l("Required; kept in the member's grade history."))


# --------------------------------------------------------------------------- helpers


def _code_from_name(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:grading.CODE_MAX_LENGTH]


def _row_data(rule: TierRule) -> dict:
    names, perks = dict(rule.names), dict(rule.other_perks)
    data = {"code": rule.code, "name": rule.name, "min_spend": rule.min_spend,
            "discount": rule.discount_percent, "perks": rule.perks}
    for locale in TRANSLATED_LOCALES:
        data[f"name_{locale}"] = names.get(locale, "")
        data[f"perks_{locale}"] = perks.get(locale, "")
    return data


# The form field of each `grading.Problem.field` (`name_<locale>` and `perks_<locale>` are
# the fields of the same name).
_FIELD_FOR = {"code": "code", "name": "name", "min_spend": "min_spend",
              "discount_rate": "discount", "perks": "perks"}


def _collect(form: TierTableForm) -> tuple[list[TierRule], list[int], bool]:
    """The rules the form describes, the form row of each, and whether all filled rows are
    complete (missing parts get a message beside the field)."""
    rules: list[TierRule] = []
    rows: list[int] = []
    complete = True
    for index, entry in enumerate(form.rows.entries):
        row: TierRowForm = entry.form
        if row.remove.data or row.is_blank():
            continue
        for field, message in ((row.name, _("Give the tier a name.")),
                               (row.min_spend, _("Enter the spend that reaches this tier.")),
                               (row.discount, _("Enter the discount, 0 for none."))):
            if field.data is None and not field.errors:
                field.errors.append(message)
                complete = False
        code = (row.code.data or _code_from_name(row.name.data or "")).lower()
        if not code and row.name.data:
            row.code.errors.append(_("Give the tier a code (letters and digits)."))
            complete = False
        if row.min_spend.data is None or row.discount.data is None:
            continue
        rules.append(TierRule(
            code=code, name=row.name.data or "", min_spend=row.min_spend.data,
            discount_rate=row.discount.data / HUNDRED, perks=row.perks.data or "",
            names=tuple((locale, row[f"name_{locale}"].data) for locale in TRANSLATED_LOCALES
                        if row[f"name_{locale}"].data),
            other_perks=tuple((locale, row[f"perks_{locale}"].data)
                              for locale in TRANSLATED_LOCALES if row[f"perks_{locale}"].data)))
        rows.append(index)
    if not rules and complete:
        form.form_errors.append(_("The table needs at least one tier."))
        complete = False
    return rules, rows, complete


def _show_problems(form: TierTableForm, rows: list[int], problems) -> None:
    for problem in problems:
        message = problem_message(problem)
        if problem.index is None or problem.field is None:
            form.form_errors.append(message)
            continue
        row: TierRowForm = form.rows.entries[rows[problem.index]].form
        field = row[_FIELD_FOR.get(problem.field, problem.field)]
        if message not in field.errors:
            field.errors.append(message)


def _has_errors(form: TierTableForm) -> bool:
    return bool(form.form_errors) or any(
        field.errors for entry in form.rows.entries for field in entry.form
    )


def _render_tiers(form: TierTableForm | None, lookup: MemberLookupForm, status: int = 200,
                  matches: list[Member] | None = None):
    rules = grading.ordered(load_rules())
    return render_template(
        "admin/tiers/index.html",
        form=form,
        lookup=lookup,
        matches=matches,
        rules=rules,
        counts=tier_counts(),
        table_saved=table_is_saved(),
        can_edit=is_admin(),
        window_months=current_app.config.get("TIER_WINDOW_MONTHS"),
        demotion=current_app.config.get("TIER_DEMOTION", "demote"),
        title=_l("Member grades"),
    ), status


def _table_form() -> TierTableForm:
    rules = grading.ordered(load_rules())
    rows = [_row_data(r) for r in rules] + [{} for _ in range(BLANK_ROWS)]
    return TierTableForm(formdata=None, data={"rows": rows})


# --------------------------------------------------------------------------- the table


@bp.route("/tiers", methods=["GET", "POST"])
@admin_required_for("POST")
def tiers():
    lookup = MemberLookupForm(formdata=None)
    if request.method == "GET":
        return _render_tiers(_table_form() if is_admin() else None, lookup)

    form = TierTableForm()
    if form.validate_on_submit():
        rules, rows, complete = _collect(form)
        if complete and not _has_errors(form):
            problems = grading.validate_table(rules)
            if problems:
                _show_problems(form, rows, problems)
            else:
                try:
                    report = replace_table(rules, current_user._get_current_object())
                except TierTableInvalid as error:
                    _show_problems(form, rows, error.problems)
                except DomainError as error:
                    form.form_errors.append(error.message)
                else:
                    flash(_("The tier table is saved. %(changed)d member(s) changed grade "
                            "(%(up)d up, %(down)d down).", changed=report.changed,
                            up=report.promoted, down=report.demoted), "success")
                    return redirect(url_for("admin.tiers"))
    if not _has_errors(form):
        form.form_errors.append(_("Please check the table."))
    return _render_tiers(form, lookup, 400)


@bp.route("/tiers/lookup")
def tier_lookup():
    """Find a member by number or email and go to their grade page (or list the matches)."""
    table_form = _table_form() if is_admin() else None
    if "q" not in request.args:  # nothing asked yet: the page with its empty lookup form
        return _render_tiers(table_form, MemberLookupForm(formdata=None))
    lookup = MemberLookupForm(formdata=request.args)
    if not lookup.validate():
        return _render_tiers(table_form, lookup, 400)
    matches = find_members(lookup.q.data)
    if len(matches) == 1:
        return redirect(url_for("admin.member_grade", member_id=matches[0].id))
    return _render_tiers(table_form, lookup, matches=matches)


# --------------------------------------------------------------------------- one member


def _grade_choices(rules) -> list[SelectChoice]:
    return [SelectChoice("", _("Follow their spend (end a grade set by hand)"))] + [
        SelectChoice(r.code, f"{tier_label(r)} · {r.discount_percent} %") for r in rules
    ]


def _render_member(member: Member, form: MemberGradeForm, status: int = 200):
    rules = grading.ordered(load_rules())
    place = member_standing(member, rules=rules)
    return render_template(
        "admin/tiers/member.html",
        member=member,
        place=place,
        rules=rules,
        form=form,
        history=grade_history(member),
        reason_label=reason_label,
        can_edit=is_admin(),
        title=_("Grade of %(name)s", name=member.name),
    ), status


@bp.route(f"/members/<{ID}:member_id>/grade", methods=["GET", "POST"])
@admin_required_for("POST")
def member_grade(member_id: int):
    member = db.get_or_404(Member, member_id)
    rules = grading.ordered(load_rules())
    form = MemberGradeForm()
    form.tier.choices = _grade_choices(rules)
    if request.method == "GET":
        form.tier.data = member.tier_code
    if form.validate_on_submit():
        actor = current_user._get_current_object()
        try:
            if form.tier.data:
                set_member_grade(member, form.tier.data, form.reason.data, actor)
            else:
                release_member_grade(member, form.reason.data, actor)
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s is now %(tier)s.", name=member.name,
                    tier=code_label(member.tier_code, load_rules())), "success")
            return redirect(url_for("admin.member_grade", member_id=member.id))
    return _render_member(member, form, 400 if request.method == "POST" else 200)


register_nav(__name__, "admin.tiers", _l("Member grades"), order=35)
