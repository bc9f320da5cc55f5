"""The token form, shared by the member's page and the staff's."""

from __future__ import annotations

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
