"""The support forms: shape only (lengths, choices); app.support checks the rest again."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, Regexp

from app.admin.forms import QueryForm
from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.support.cases import FORM_KEY_PATTERN, new_form_key
from app.support.labels import PRIORITY_LABELS, STATUS_LABELS, TYPE_LABELS
from app.support.models import MESSAGE_MAX, NAME_MAX, SUBJECT_MAX
from app.support.queues import QUEUES


def stripped(value):
    return value.strip() if isinstance(value, str) else value


def form_key_field() -> HiddenField:
    """The form's one-time key (the view fills it in): sent twice, one case or reply.
    Optional, so a page from before the key still works."""
    return HiddenField(validators=[Optional(), Regexp(
        FORM_KEY_PATTERN, message=_l("This form has expired. Please send it again."))])


def keep_form_key(form) -> None:
    """Before a form is shown: a key sent back unused stays (nothing has it), a bad or missing
    one is replaced, and a bad key's error is the form's (its field is hidden)."""
    if form.form_key.errors:
        form.form_errors.append(str(form.form_key.errors[0]))
    if form.form_key.errors or not form.form_key.data:
        form.form_key.data = new_form_key()


def _choices(labels: dict, blank=None) -> list[SelectChoice]:
    first = [SelectChoice("", blank)] if blank is not None else []
    return first + [SelectChoice(key.value, label) for key, label in labels.items()]


class CaseForm(AppForm):
    case_type = SelectField(_l("What is it about?"), choices=_choices(TYPE_LABELS),
                            default="question")
    subject = StringField(_l("Subject"), filters=[stripped],
                          validators=[InputRequired(_l("Please say in a few words what it is "
                                                       "about.")), Length(max=SUBJECT_MAX)])
    body = TextAreaField(_l("Your message"), filters=[stripped],
                         validators=[InputRequired(_l("Please write your message.")),
                                     Length(max=MESSAGE_MAX)])
    order_id = HiddenField()
    form_key = form_key_field()


class VisitorContactForm(CaseForm):
    name = StringField(_l("Your name"), filters=[stripped],
                       validators=[InputRequired(_l("Please tell us your name.")),
                                   Length(max=NAME_MAX)])
    email = EmailField(_l("Your email address"), filters=[stripped],
                       validators=[InputRequired(_l("Please enter your email address.")),
                                   Length(max=254)],
                       description=_l("We will email you a link to confirm it first."))


class ConfirmForm(AppForm):
    """A button: only the CSRF token is checked."""


class ReplyForm(AppForm):
    body = TextAreaField(_l("Your message"), filters=[stripped],
                         validators=[InputRequired(_l("Please write your message.")),
                                     Length(max=MESSAGE_MAX)])


class CsatForm(AppForm):
    score = RadioField(_l("How satisfied are you with our help?"),
                       choices=[SelectChoice("5", _l("5 - very satisfied")),
                                SelectChoice("4", _l("4 - satisfied")),
                                SelectChoice("3", _l("3 - neither")),
                                SelectChoice("2", _l("2 - dissatisfied")),
                                SelectChoice("1", _l("1 - very dissatisfied"))],
                       validators=[InputRequired(_l("Choose from 1 to 5."))])


# --------------------------------------------------------------------------- staff


class StaffCaseForm(CaseForm):
    """A case staff open for a customer (a call, a letter): what the customer said."""

    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS), default="normal")


class StaffReplyForm(AppForm):
    body = TextAreaField(_l("Reply to the customer"), filters=[stripped],
                         validators=[InputRequired(_l("Please write your reply.")),
                                     Length(max=MESSAGE_MAX)],
                         description=_l("Mailed to the customer with a link to answer."))
    keep_open = BooleanField(_l("Keep the case open (do not wait on the customer)"))
    form_key = form_key_field()


class AssignForm(AppForm):
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=True)


class StatusForm(AppForm):
    status = SelectField(_l("Status"), choices=_choices(STATUS_LABELS))


class PriorityForm(AppForm):
    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS))


class BulkForm(AppForm):
    case_ids = SelectMultipleField(_l("Cases"), choices=[], validate_choice=False,
                                   validators=[InputRequired(_l("Choose at least one case."))])
    action = SelectField(_l("Action"), choices=[SelectChoice("assign", _l("Assign to")),
                                                SelectChoice("close", _l("Close"))])
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=True)


QUEUE_LABELS = {"mine": _l("My cases"), "unassigned": _l("Unassigned"),
                "overdue": _l("Overdue"), "all": _l("All cases")}


class CaseQueryForm(QueryForm):
    queue = SelectField(_l("Queue"), choices=[SelectChoice(q, QUEUE_LABELS[q]) for q in QUEUES],
                        default="mine", validators=[Optional()])
    status = SelectField(_l("Status"), choices=_choices(STATUS_LABELS, _l("Any")),
                         default="", validators=[Optional()])
    case_type = SelectField(_l("Type"), choices=_choices(TYPE_LABELS, _l("Any")), default="",
                            validators=[Optional()])
    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS, _l("Any")),
                           default="", validators=[Optional()])
    assignee = SelectField(_l("Assignee"), choices=[], default="", validators=[Optional()])
