"""The token form and its page's handling, shared by the member's page and the staff's."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import IntegerField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.api import tokens as token_rules
from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l

SCOPE_LABELS = {
    "catalog:read": _l("Read the catalog"),
    "me": _l("My own account: profile, orders, demand list, grade, cart"),
    "orders:read": _l("Read orders"),
    "orders:write": _l("Change order statuses"),
    "stock:write": _l("Record stock arrivals"),
    "customers:read": _l("Read customers and demand"),
    "customers:write": _l("Tag customers and add notes"),
}


class TokenForm(AppForm):
    name = StringField(_l("Name"), description=_l("What the token is for, e.g. “warehouse”."),
                       validators=[DataRequired(_l("Give the token a name, so you know it "
                                                   "later.")),
                                   Length(max=token_rules.NAME_MAX_LENGTH,
                                          message=_l("At most %(max)d characters, please."))])
    scopes = SelectMultipleField(_l("What it may do"), choices=[],
                                 widget=widgets.ListWidget(prefix_label=False),
                                 option_widget=widgets.CheckboxInput(),
                                 validators=[DataRequired(_l("Choose at least one scope."))])
    expires_in_days = IntegerField(
        _l("Expires after (days)"), description=_l("Leave empty for a token that does not "
                                                   "expire."),
        validators=[Optional(), NumberRange(1, token_rules.MAX_EXPIRY_DAYS, message=_l(
            "Enter a number of days from 1 to %(max)s, or leave it empty."))])

    def offer(self, scopes: tuple[str, ...]) -> TokenForm:
        self.scopes.choices = [(scope, f"{scope} — {SCOPE_LABELS[scope]}") for scope in scopes]
        return self


def token_page(scopes: tuple[str, ...], page: Callable[..., object]) -> object:
    """The token page of the reader (a member's or the staff's): shown, or, on a valid form,
    a token made for the reader with the scopes offered and `page` shown with its secret this
    once (a fresh form beside it). A field the service refuses is marked on the form (400)."""
    member = current_user._get_current_object()
    form = TokenForm().offer(scopes)
    if form.validate_on_submit():
        try:
            new = token_rules.create_token(member, form.name.data, form.scopes.data,
                                           form.expires_in_days.data, actor=member)
        except token_rules.TokenFieldError as exc:
            getattr(form, exc.field).errors = [*getattr(form, exc.field).errors, exc.message]
        else:
            flash(_("Token made. Copy it now: it is not shown again."), "success")
            return page(TokenForm(formdata=None).offer(scopes), new=new)
    return page(form, status=400 if form.errors else 200)
