"""Demand forms: they check shape; the demand services re-check every rule (app.demand.rules)."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.demand.rules import AUTHOR_MAX_LENGTH, MAX_QUANTITY, NOTE_MAX_LENGTH, TITLE_MAX_LENGTH
from app.membership.members import EMAIL_MAX_LENGTH


def _quantity() -> IntegerField:
    return IntegerField(
        _l("Copies wanted"),
        default=1,
        validators=[InputRequired(_l("Please enter how many copies you want.")),
                    NumberRange(1, MAX_QUANTITY, _l("Please choose a quantity from 1 to "
                                                    "%(max)d.", max=MAX_QUANTITY))],
    )


def _note() -> TextAreaField:
    return TextAreaField(
        _l("Note (optional)"),
        description=_l("Anything we should know, e.g. the edition you prefer. At most "
                       "%(max)d characters.", max=NOTE_MAX_LENGTH),
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH,
                                       message=_l("Your note can be at most %(max)d "
                                                  "characters.", max=NOTE_MAX_LENGTH))],
    )


class NotifyMeForm(AppForm):
    """A member's "tell me when it is in stock"."""

    quantity = _quantity()
    note = _note()


class VisitorNotifyForm(NotifyMeForm):
    """The same for a visitor, who gives an address and confirms it by a link."""

    email = EmailField(
        _l("Your email"),
        description=_l("We send one confirmation link; nothing else until you open it."),
        validators=[DataRequired(_l("Please enter your email address.")),
                    Length(max=EMAIL_MAX_LENGTH, message=_l("That email address is too long."))],
    )


class RequestBookForm(AppForm):
    """Ask for a book we do not carry."""

    title = StringField(_l("Title"), validators=[
        Optional(), Length(max=TITLE_MAX_LENGTH, message=_l("At most %(max)d characters, "
                                                            "please.", max=TITLE_MAX_LENGTH))])
    author = StringField(_l("Author"), validators=[
        Optional(), Length(max=AUTHOR_MAX_LENGTH, message=_l("At most %(max)d characters, "
                                                             "please.", max=AUTHOR_MAX_LENGTH))])
    isbn = StringField(_l("ISBN (optional)"),
                       description=_l("10 or 13 digits; hyphens are fine."),
                       validators=[Optional(), Length(max=20, message=_l(
                           "This is not a valid ISBN-10 or ISBN-13."))])
    quantity = _quantity()
    note = _note()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not (self.title.data or "").strip() and not (self.isbn.data or "").strip():
            self.title.errors = [*self.title.errors, _l("Please give the title or the ISBN.")]
            ok = False
        return ok


class PreferencesForm(AppForm):
    stock_alerts = BooleanField(
        _l("Email me when a book on my demand list arrives"),
        description=_l("One email per book, with a link to unsubscribe."))
    news = BooleanField(_l("Email me the shop's news and offers"))


class ActionForm(AppForm):
    """A button (cancel, confirm, unsubscribe): only the CSRF token is checked."""
