"""Admin forms: they check shape (types, ranges, lengths); services check the rest again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from app.catalog import isbn as isbn_rules
from app.core.forms import AppForm, DecimalInput
from app.core.i18n import lazy_gettext as _l
from app.core.money import CENT
from app.mail.models import MailStatus
from app.ordering.models import OrderStatus
from app.ordering.orders import STATUS_LABELS

MAX_PRICE = Decimal("100000")
MAX_STOCK = 100_000
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
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


# --------------------------------------------------------------------------- books

STOCK_FILTERS = [
    SelectChoice("", _l("All books")),
    SelectChoice("low", _l("Low stock")),
    SelectChoice("out", _l("Out of stock")),
    SelectChoice("inactive", _l("Not for sale")),
]
BOOK_SORTS = [
    SelectChoice("title", _l("Title A–Z")),
    SelectChoice("newest", _l("Newest first")),
    SelectChoice("stock", _l("Stock, lowest first")),
    SelectChoice("price", _l("Price, lowest first")),
    SelectChoice("price_desc", _l("Price, highest first")),
    SelectChoice("sold", _l("Best selling")),
]


class BookFilterForm(QueryForm):
    q = StringField(_l("Title, author or ISBN"), filters=[stripped],
                    validators=[Length(max=200)])
    stock = SelectField(_l("Show"), choices=STOCK_FILTERS, default="")
    sort = SelectField(_l("Sort by"), choices=BOOK_SORTS, default="title")


class BookForm(AppForm):
    title = StringField(_l("Title"), filters=[stripped],
                        validators=[DataRequired(), Length(max=500)])
    authors = StringField(_l("Authors"), filters=[stripped],
                          validators=[DataRequired(), Length(max=500)],
                          description=_l("Separate several authors with commas."))
    year = IntegerField(_l("Year"), validators=[Optional(), Between(-3000, 2100)],
                        description=_l("Year of first publication (negative for BC)."))
    isbn = StringField(_l("ISBN"), filters=[stripped], validators=[Optional(), Length(max=20)],
                       description=_l("ISBN-10 or ISBN-13, with or without hyphens."))
    language = StringField(_l("Language"), filters=[stripped],
                           validators=[Optional(), Length(max=16)],
                           description=_l("A language code such as en or zh-CN."))
    publisher = StringField(_l("Publisher"), filters=[stripped],
                            validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Description"), filters=[stripped],
                                validators=[Optional(), Length(max=20000)])
    price = MoneyField(_l("Price"), places=2,
                       validators=[InputRequired(), Between(Decimal("0"), MAX_PRICE),
                                   whole_cents])
    stock_on_hand = IntegerField(_l("Copies in stock"),
                                 validators=[InputRequired(), Between(0, MAX_STOCK)])
    category_id = SelectField(_l("Category"), coerce=int, default=0)
    is_active = BooleanField(_l("For sale in the shop"), default=True)

    def validate_isbn(self, field) -> None:
        if field.data and isbn_rules.normalize(field.data) is None:
            raise ValidationError(_l("This is not a valid ISBN-10 or ISBN-13."))


# --------------------------------------------------------------------------- categories


class CategoryForm(AppForm):
    name = StringField(_l("Name"), filters=[stripped], validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        _l("Slug"),
        filters=[stripped],
        validators=[
            DataRequired(),
            Length(max=80),
            Regexp(SLUG_PATTERN, message=_l("Use lowercase letters, digits and single hyphens, "
                                            "like science-fiction.")),
        ],
        description=_l("The category's web address: /category/<slug>."),
    )
    description = TextAreaField(_l("Description"), filters=[stripped],
                                validators=[Optional(), Length(max=500)])
    position = IntegerField(_l("Position"), default=0,
                            validators=[InputRequired(), Between(0, 10_000)],
                            description=_l("Lower numbers are listed first."))


# --------------------------------------------------------------------------- orders


def _sane_date(form, field) -> None:
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise StopValidation(_l("Choose a date between %(start)s and %(end)s.",
                                start=EARLIEST_DATE.isoformat(), end=LATEST_DATE.isoformat()))


class OrderFilterForm(QueryForm):
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status"))]
        + [SelectChoice(s.value, STATUS_LABELS[s]) for s in OrderStatus],
        default="",
    )
    date_from = DateField(_l("Placed from"), validators=[Optional(), _sane_date])
    date_to = DateField(_l("Placed until"), validators=[Optional(), _sane_date])
    q = StringField(_l("Email or order number"), filters=[stripped],
                    validators=[Length(max=254)])

    def validate_date_to(self, field) -> None:
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class OrderStatusForm(AppForm):
    # Only the allowed next statuses are offered; anything else posted is refused by
    # app.ordering.orders.change_status with its own message, so the choice is not pre-checked.
    status = SelectField(_l("New status"), validators=[DataRequired()], validate_choice=False)
    note = TextAreaField(_l("Note"), filters=[stripped], validators=[Optional(), Length(max=500)],
                         description=_l("Optional; kept in the order's history."))


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
    date_from = DateField(_l("From"), validators=[Optional(), _sane_date])
    date_to = DateField(_l("Until"), validators=[Optional(), _sane_date])

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


class LowStockForm(QueryForm):
    threshold = IntegerField(_l("At most this many copies"),
                             validators=[Optional(), Between(0, MAX_STOCK)],
                             description=_l("Leave empty for the shop's threshold."))
