"""Forms of the customer pages: the list's filters, notes, tags and staff actions.
They check shape; app.crm.customers / customer_admin / interactions / erasure check the rules."""

from __future__ import annotations

from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
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
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from app.admin.forms import QueryForm, stripped
from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.crm import customer_mail, customers, interactions
from app.crm.models import InteractionKind, TaskPriority
from app.crm.tags import NAME_MAX_LENGTH as TAG_MAX_LENGTH
from app.membership.members import PROFILE_LIMITS
from app.membership.models import Role
from app.ordering.web.forms import CheckoutForm

EARLIEST = date(1990, 1, 1)
LATEST = date(2999, 12, 31)


def _sane_date(form, field) -> None:
    if field.data is not None and not EARLIEST <= field.data <= LATEST:
        raise StopValidation(_l("Choose a date between %(start)s and %(end)s.",
                                start=EARLIEST.isoformat(), end=LATEST.isoformat()))


def _not_before(other: str):
    def check(form, field) -> None:
        start = getattr(form, other).data
        if start and field.data and field.data < start:
            raise ValidationError(_l("The end date is before the start date."))
    return check


def _choices(labels: dict, blank) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(k, v) for k, v in labels.items()]


class CustomerFilterForm(QueryForm):
    q = StringField(_l("Name, email, member number or phone"), filters=[stripped],
                    validators=[Length(max=customers.MAX_QUERY)])
    tier = SelectField(_l("Grade"), default="")  # choices from the tier table, per request
    tag = SelectField(_l("Tag"), default="")  # choices from the tags, per request
    segment = SelectField(_l("Segment"), default="")  # the analysis's RFM segments
    joined_from = DateField(_l("Joined from"), validators=[Optional(), _sane_date])
    joined_to = DateField(_l("Joined until"),
                          validators=[Optional(), _sane_date, _not_before("joined_from")])
    last_order_from = DateField(_l("Last order from"), validators=[Optional(), _sane_date])
    last_order_to = DateField(_l("Last order until"), validators=[
        Optional(), _sane_date, _not_before("last_order_from")])
    open_demand = BooleanField(_l("Has open demand"))
    opted_out = SelectField(_l("Mail"), default="",
                            choices=_choices(customers.OPT_OUTS, _l("Any mail choice")))
    status = SelectField(_l("Account"), default="",
                         choices=_choices(customers.STATUSES, _l("Any account")))
    sort = SelectField(_l("Sort by"), default="name",
                       choices=[SelectChoice(k, v) for k, v in customers.SORTS.items()])

    def filters(self) -> customers.CustomerFilters:
        return customers.CustomerFilters(
            q=self.q.data or "", tier=self.tier.data or "",
            joined_from=self.joined_from.data, joined_to=self.joined_to.data,
            last_order_from=self.last_order_from.data, last_order_to=self.last_order_to.data,
            open_demand=bool(self.open_demand.data), opted_out=self.opted_out.data or "",
            tag_id=int(self.tag.data) if self.tag.data else None,
            segment=self.segment.data or "",
            status=self.status.data or "", sort=self.sort.data or "name",
        )


class InteractionForm(AppForm):
    kind = SelectField(_l("Type"), default=InteractionKind.PHONE.value,
                       choices=[SelectChoice(k.value, interactions.KIND_LABELS[k])
                                for k in InteractionKind])
    body = TextAreaField(_l("What was said or done"), filters=[stripped], validators=[
        DataRequired(_l("Write what was said or done.")),
        Length(max=interactions.BODY_MAX_LENGTH)])
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional(), _sane_date],
                             description=_l("Optional: the day someone should get back to "
                                            "the customer."))
    assignee = SelectField(_l("Assigned to"), default="", validate_choice=False,
                           description=_l("Who follows up (you, if nobody is chosen)."))
    priority = SelectField(_l("Priority"), default=TaskPriority.NORMAL.value,
                           choices=[SelectChoice(p.value, interactions.PRIORITY_LABELS[p])
                                    for p in TaskPriority])
    task_note = StringField(_l("What to do"), filters=[stripped],
                            validators=[Optional(), Length(max=interactions.TASK_NOTE_MAX_LENGTH)],
                            description=_l("Optional, e.g. “call back about the order”."))

    def assignee_id(self) -> int | None:
        return _member_id(self.assignee.data)


def _member_id(raw: str | None) -> int | None:
    """A chosen staff member's id (the service checks who it is), None for none."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def staff_choices(staff: list, blank) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [SelectChoice(str(m.id), m.name) for m in staff]


class TaskForm(AppForm):
    """A note's task: due date (empty: no task), assignee, priority and what to do."""

    follow_up_on = DateField(_l("Due on"), validators=[Optional(), _sane_date],
                             description=_l("Leave empty to drop the task."))
    assignee = SelectField(_l("Assigned to"), default="", validate_choice=False)
    priority = SelectField(_l("Priority"), default=TaskPriority.NORMAL.value,
                           choices=[SelectChoice(p.value, interactions.PRIORITY_LABELS[p])
                                    for p in TaskPriority])
    task_note = StringField(_l("What to do"), filters=[stripped],
                            validators=[Optional(), Length(max=interactions.TASK_NOTE_MAX_LENGTH)])

    def assignee_id(self) -> int | None:
        return _member_id(self.assignee.data)


class NoteEditForm(AppForm):
    body = TextAreaField(_l("What was said or done"), filters=[stripped], validators=[
        DataRequired(_l("Write what was said or done.")),
        Length(max=interactions.BODY_MAX_LENGTH)])


class TagForm(AppForm):
    name = StringField(_l("Add a tag"), filters=[stripped],
                       validators=[DataRequired(_l("Type a tag, e.g. teacher.")),
                                   Length(max=TAG_MAX_LENGTH)],
                       description=_l("e.g. teacher, wholesale"))


def _limit(name: str) -> Length:
    return Length(max=PROFILE_LIMITS[name])


class ContactForm(AppForm):
    name = StringField(_l("Name"), filters=[stripped],
                       validators=[DataRequired(_l("Enter the customer's name.")),
                                   _limit("name")])
    email = StringField(_l("Email"), filters=[stripped], validators=[
        DataRequired(_l("Enter an email address.")), Length(max=254)],
        description=_l("Checked and made lower-case when saved; must not belong to another "
                       "account."))
    phone = StringField(_l("Phone"), filters=[stripped], validators=[Optional(), _limit("phone")])
    address_line1 = StringField(_l("Address"), filters=[stripped],
                                validators=[Optional(), _limit("address_line1")])
    address_line2 = StringField(_l("Address line 2"), filters=[stripped],
                                validators=[Optional(), _limit("address_line2")])
    city = StringField(_l("City"), filters=[stripped], validators=[Optional(), _limit("city")])
    region = StringField(_l("Region"), filters=[stripped],
                         validators=[Optional(), _limit("region")])
    postcode = StringField(_l("Postcode"), filters=[stripped],
                           validators=[Optional(), _limit("postcode")])
    country = StringField(_l("Country"), filters=[stripped],
                          validators=[Optional(), _limit("country")])


ROLE_LABELS = {Role.MEMBER: _l("Member"), Role.STAFF: _l("Staff"), Role.ADMIN: _l("Admin")}


class RoleForm(AppForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role])


class EraseForm(AppForm):
    confirm = StringField(_l("Type the member number to confirm"), filters=[stripped],
                          validators=[DataRequired(_l("Type the member number to confirm."))])
    understood = BooleanField(_l("I understand this cannot be undone."),
                              validators=[DataRequired(_l("Tick the box to confirm."))])

    def __init__(self, *args, member_no: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member_no = member_no

    def validate_confirm(self, field) -> None:
        if (field.data or "").upper() != (self.member_no or "").upper():
            raise ValidationError(_l("That is not this member's number."))


# --------------------------------------------------------------------------- phone orders


class CallerSearchForm(QueryForm):
    q = StringField(_l("Name, phone, email, member number or order number"),
                    filters=[stripped], validators=[Length(max=customers.MAX_QUERY)],
                    description=_l("A phone number may be written any way; an order number "
                                   "looks like BS-0004327."))


class BookSearchForm(QueryForm):
    book_q = StringField(_l("Find a book"), filters=[stripped], validators=[Length(max=200)],
                         description=_l("Title, author or ISBN."))


class PhoneOrderForm(CheckoutForm):
    """The web's checkout form, filled in by staff for the caller: the same address, payment
    and note fields and the same one-time key; the address is not saved to the profile."""

    save_address = None


# --------------------------------------------------------------------------- writing to customers


class ComposeForm(AppForm):
    """A mail to the customer; its placeholders are checked by app.crm.customer_mail."""

    subject = StringField(_l("Subject"), filters=[stripped], validators=[
        DataRequired(_l("Write a subject.")), Length(max=customer_mail.SUBJECT_MAX)])
    body = TextAreaField(_l("Message"), filters=[stripped], validators=[
        DataRequired(_l("Write a message.")), Length(max=customer_mail.BODY_MAX)],
        description=_l("Placeholders: {name}, {order_number}, {book}."))
    order_id = SelectField(_l("Order for {order_number}"), default="", validate_choice=False)
    book = StringField(_l("Book for {book}"), filters=[stripped],
                       validators=[Optional(), Length(max=customer_mail.BOOK_MAX)])
    form_key = HiddenField()

    def chosen_order_id(self) -> int | None:
        return _member_id(self.order_id.data)


class MailTemplateForm(AppForm):
    name = StringField(_l("Name"), filters=[stripped], validators=[
        DataRequired(_l("Give the template a name.")), Length(max=customer_mail.NAME_MAX)])
    locale = SelectField(_l("Language"))
    subject = StringField(_l("Subject"), filters=[stripped], validators=[
        DataRequired(_l("Write a subject.")), Length(max=customer_mail.SUBJECT_MAX)])
    body = TextAreaField(_l("Message"), filters=[stripped], validators=[
        DataRequired(_l("Write a message.")), Length(max=customer_mail.BODY_MAX)],
        description=_l("Placeholders: {name}, {order_number}, {book}; write {{ and }} for "
                       "literal braces."))


class PhoneDemandForm(AppForm):
    """A demand taken on the phone (a member's, or with `email` and `name` a caller's)."""

    book_id = IntegerField(_l("Book"), validators=[
        InputRequired(_l("Which book?")), NumberRange(min=1, max=2**31 - 1)])
    quantity = IntegerField(_l("Quantity"), default=1, validators=[
        InputRequired(_l("How many copies?")),
        NumberRange(min=1, max=99, message=_l("Please choose a quantity from 1 to 99."))])
    note = StringField(_l("Note"), filters=[stripped], validators=[Optional(), Length(max=500)])


class CallerDemandForm(PhoneDemandForm):
    name = StringField(_l("Caller's name"), filters=[stripped], validators=[
        DataRequired(_l("Write the caller's name.")), Length(max=120)])
    email = StringField(_l("Caller's email"), filters=[stripped], validators=[
        DataRequired(_l("Enter an email address.")), Length(max=254)],
        description=_l("A confirmation link goes there first: nothing else is sent until "
                       "the caller opens it."))
    locale = SelectField(_l("Caller's language"))


# --------------------------------------------------------------------------- the list's views, bulk


class SavedViewForm(AppForm):
    name = StringField(_l("Name of the view"), filters=[stripped], validators=[
        DataRequired(_l("Give the view a name.")), Length(max=80)])
    shared = BooleanField(_l("Share with the team"))


class BulkActionForm(AppForm):
    action = SelectField(_l("Action"), choices=[
        SelectChoice("tag", _l("Add a tag")), SelectChoice("untag", _l("Remove a tag")),
        SelectChoice("task", _l("Give a task")),
        SelectChoice("campaign", _l("Add to a campaign audience")),
        SelectChoice("export", _l("Download as CSV"))])
    scope = SelectField(_l("On"), choices=[
        SelectChoice("selected", _l("the ticked customers")),
        SelectChoice("filter", _l("every customer the filters select"))])
    tag = StringField(_l("Tag"), filters=[stripped], validators=[Optional(), Length(max=40)])
    body = StringField(_l("Task"), filters=[stripped],
                       validators=[Optional(), Length(max=interactions.BODY_MAX_LENGTH)])
    due_on = DateField(_l("Due on"), validators=[Optional(), _sane_date])
    assignee = SelectField(_l("Assigned to"), default="", validate_choice=False)
    priority = SelectField(_l("Priority"), default=TaskPriority.NORMAL.value,
                           choices=[SelectChoice(p.value, interactions.PRIORITY_LABELS[p])
                                    for p in TaskPriority])
    # A draft campaign for chosen customers (its choices: the view's `_bulk_form`).
    campaign = SelectField(_l("Campaign"), default="", validate_choice=False)

    # What each action needs (a tag, a task and its date, a campaign) is checked by
    # app.crm.customer_views.

    def assignee_id(self) -> int | None:
        return _member_id(self.assignee.data)

    def campaign_id(self) -> int | None:
        return _member_id(self.campaign.data)  # the same shape: a row id or nothing

    def member_ids(self) -> list[int]:
        from flask import request

        return [int(v) for v in request.form.getlist("member_ids")
                if v.isascii() and v.isdigit() and len(v) <= 9]


class MergeForm(AppForm):
    other = StringField(_l("Member number of the record to merge into this one"),
                        filters=[stripped], validators=[
                            DataRequired(_l("Type the other record's member number.")),
                            Length(max=40)])
    understood = BooleanField(_l("I understand the other record is then erased."),
                              validators=[DataRequired(_l("Tick the box to confirm."))])
