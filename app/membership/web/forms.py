"""Account forms: they check shape; the membership service re-checks every rule it owns."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.membership.members import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    PROFILE_LIMITS,
    InvalidEmail,
    normalise_email,
    password_problem,
    password_rules,
)

# Generous room for typing; the service decides what is acceptable and says why.
_PASSWORD_INPUT_MAX = PASSWORD_MAX_LENGTH * 2


def _email_field(label=None) -> EmailField:
    return EmailField(
        label or _l("Email"),
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("That email address is too long.")),
        ],
    )


def _optional(label, key: str, description=None, extra=()) -> StringField:
    limit = PROFILE_LIMITS[key]
    return StringField(
        label,
        description=description,
        validators=[
            Optional(),
            Length(max=limit, message=_l("At most %(max)d characters.", max=limit)),
            *extra,
        ],
    )


class _NewPasswordMixin:
    """A new password and its confirmation, with the rules stated as help text."""

    def _describe_password(self) -> None:
        self.password.description = password_rules()

    def _email_for_rules(self) -> str | None:
        return None

    def validate_password(self, field) -> None:
        problem = password_problem(field.data or "", self._email_for_rules())
        if problem:
            raise ValidationError(problem)


class _AccountPasswordMixin(_NewPasswordMixin):
    """A new password for an account (`email`, which the password must not resemble)."""

    def __init__(self, *args, email: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._email = email
        self._describe_password()
        self.password.label.text = _l("New password")

    def _email_for_rules(self) -> str | None:
        return self._email


def _new_password_fields():
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(max=_PASSWORD_INPUT_MAX, message=_l("That password is too long.")),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Please type the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )
    return password, confirm


class RegisterForm(_NewPasswordMixin, AppForm):
    email = _email_field()
    name = StringField(
        _l("Your name"),
        validators=[
            DataRequired(_l("Please tell us your name.")),
            Length(
                max=NAME_MAX_LENGTH, message=_l("At most %(max)d characters.", max=NAME_MAX_LENGTH)
            ),
        ],
    )
    password, confirm = _new_password_fields()
    next = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._describe_password()

    def _email_for_rules(self) -> str | None:
        return self.email.data

    def validate_email(self, field) -> None:
        try:
            normalise_email(field.data or "")
        except InvalidEmail as exc:
            raise ValidationError(exc.message) from exc


class LoginForm(AppForm):
    email = _email_field()
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Please enter your password.")),
            Length(max=_PASSWORD_INPUT_MAX, message=_l("That password is too long.")),
        ],
    )
    remember = BooleanField(
        _l("Remember me on this device"),
        description=_l("Stay logged in for 30 days. Don't tick this on a shared computer."),
    )
    next = HiddenField()


class ProfileForm(AppForm):
    name = StringField(
        _l("Your name"),
        validators=[
            DataRequired(_l("Please tell us your name.")),
            Length(
                max=NAME_MAX_LENGTH, message=_l("At most %(max)d characters.", max=NAME_MAX_LENGTH)
            ),
        ],
    )
    phone = TelField(
        _l("Phone"),
        description=_l("Optional. Used only if the courier needs to reach you."),
        validators=[
            Optional(),
            Length(
                max=PROFILE_LIMITS["phone"],
                message=_l("At most %(max)d characters.", max=PROFILE_LIMITS["phone"]),
            ),
            Regexp(r"^[0-9+()\-.\s]+$", message=_l("Use digits, spaces and + ( ) - . only.")),
        ],
    )
    address_line1 = _optional(
        _l("Address"), "address_line1", description=_l("Street and number. Prefills your checkout.")
    )
    address_line2 = _optional(
        _l("Address line 2"), "address_line2", description=_l("Flat, floor, building (optional).")
    )
    city = _optional(_l("City"), "city")
    region = _optional(_l("Province, state or region"), "region")
    postcode = _optional(_l("Postcode"), "postcode")
    country = _optional(_l("Country"), "country")
    # The member's language for pages and emails ("" follows the browser).
    locale = SelectField(
        _l("Language for pages and emails"),
        choices=[
            SelectChoice("", _l("As my browser says")),
            SelectChoice("en", "English"),
            SelectChoice("zh_Hans", "简体中文"),
        ],
        description=_l("“As my browser says” follows the language set in your browser."),
        filters=[lambda value: value or ""],  # None (nothing saved, or not posted): ""
    )


class ChangePasswordForm(_AccountPasswordMixin, AppForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(_l("Please enter your current password.")),
            Length(max=_PASSWORD_INPUT_MAX, message=_l("That password is too long.")),
        ],
    )
    password, confirm = _new_password_fields()


class ConfirmForm(AppForm):
    """The confirm-your-address form: the password chosen on the join form (whoever reads the
    mail must also be whoever asked to join)."""

    password = PasswordField(
        _l("Password"),
        description=_l("The password you chose when you joined."),
        validators=[
            DataRequired(_l("Please enter your password.")),
            Length(max=_PASSWORD_INPUT_MAX, message=_l("That password is too long.")),
        ],
    )


class ForgotPasswordForm(AppForm):
    email = _email_field()


class ResetPasswordForm(_AccountPasswordMixin, AppForm):
    password, confirm = _new_password_fields()
