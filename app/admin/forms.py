"""Admin forms shared by the features' admin pages (query forms, action buttons, numbers,
amounts, dates) and the forms of the admin shell's own pages (mail log, audit log). A feature's
own admin forms live in its `web/forms.py`. Forms check shape (types, ranges, lengths); services
check the rest again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from wtforms import (
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from app.core.forms import AppForm, DecimalInput
from app.core.i18n import lazy_gettext as _l
from app.core.money import CENT
from app.mail.models import MailStatus

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2999, 12, 31)


class QueryForm(AppForm):
    """A filter form read from the query string (GET): no CSRF token, nothing is changed."""

    class Meta:
        csrf = False


class ActionForm(AppForm):
    """A button that changes something (delete, resend): only the CSRF token is checked."""


class Between:
    """A number within [minimum, maximum]; silent when the field could not be parsed at all
    (that error is already shown), so the user sees one clear message, not two."""

    def __init__(self, minimum: int | Decimal, maximum: int | Decimal, message=None) -> None:
        self.minimum, self.maximum, self.message = minimum, maximum, message

    def __call__(self, form, field) -> None:
        if field.data is None:
            return
        if not self.minimum <= field.data <= self.maximum:
            message = self.message or _l("Enter a number from %(min)s to %(max)s.")
            raise ValidationError(str(message) % {"min": self.minimum, "max": self.maximum})


class MoneyField(DecimalInput):
    """An exact amount typed by staff (app.core.forms.DecimalInput: no 1e309, inf, nan or -0), shown
    back exactly as typed on errors."""

    def __init__(self, label=None, validators=None, places=2, **kwargs) -> None:
        kwargs.setdefault("message", _l("Enter an amount such as 12.50."))
        super().__init__(label, validators, places=places, **kwargs)


def whole_cents(form, field) -> None:
    if field.data is not None and field.data != field.data.quantize(CENT):
        raise ValidationError(_l("Use at most two decimals, e.g. 12.50."))


def stripped(value):
    return value.strip() if isinstance(value, str) else value


# --------------------------------------------------------------------------- dates


def sane_date(form, field) -> None:
    """A date filter's value within EARLIEST_DATE..LATEST_DATE (stops the field's checks)."""
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise StopValidation(_l("Choose a date between %(start)s and %(end)s.",
                                start=EARLIEST_DATE.isoformat(), end=LATEST_DATE.isoformat()))


# --------------------------------------------------------------------------- mail log

MAIL_STATUS_LABELS = {
    MailStatus.PENDING: _l("Pending"),
    MailStatus.SENT: _l("Sent"),
    MailStatus.FAILED: _l("Failed"),
    MailStatus.CANCELLED: _l("Cancelled"),
}


class MailFilterForm(QueryForm):
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status"))]
        + [SelectChoice(s.value, MAIL_STATUS_LABELS[s]) for s in MailStatus],
        default="",
    )
    kind = SelectField(_l("Kind"), choices=[SelectChoice("", _l("Any kind"))], default="")
    q = StringField(_l("Recipient"), filters=[stripped], validators=[Length(max=254)])


# --------------------------------------------------------------------------- audit log


class AuditFilterForm(QueryForm):
    actor = StringField(_l("Who"), filters=[stripped], validators=[Length(max=254)],
                        description=_l("Part of their email address, or their member id."))
    # Choices are the actions and record types found in the log (filled in by the view).
    action = SelectField(_l("Action"), default="", validate_choice=False)
    target_type = SelectField(_l("Record type"), default="", validate_choice=False)
    target_id = IntegerField(_l("Record id"), validators=[Optional(), Between(1, 2147483647)])
    date_from = DateField(_l("From"), validators=[Optional(), sane_date])
    date_to = DateField(_l("Until"), validators=[Optional(), sane_date])

    def validate_date_to(self, field) -> None:
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def validate_action(self, field) -> None:
        if field.data and (len(field.data) > 64 or not all(
                c.isalnum() or c in "._-" for c in field.data)):
            raise ValidationError(_l("Choose an action from the list."))

    def validate_target_type(self, field) -> None:
        if field.data and (len(field.data) > 40 or not all(
                c.isalnum() or c == "_" for c in field.data)):
            raise ValidationError(_l("Choose a record type from the list."))
