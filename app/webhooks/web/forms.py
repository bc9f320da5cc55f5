"""The webhook pages' forms: an endpoint (URL, description, events) and the delivery log's
filter. They check shape; app.webhooks.endpoints checks again and says what is wrong."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length

from app.admin.forms import QueryForm, stripped
from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.webhooks.endpoints import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH
from app.webhooks.events import (
    DEMAND_CREATED,
    EVENT_TYPES,
    GRADE_CHANGED,
    ORDER_PLACED,
    ORDER_STATUS_CHANGED,
    RETURN_REQUESTED,
    STOCK_RECEIVED,
    TEST_EVENT,
)
from app.webhooks.models import DeliveryStatus

EVENT_LABELS = {
    ORDER_PLACED: _l("An order was placed"),
    ORDER_STATUS_CHANGED: _l("An order's status changed"),
    STOCK_RECEIVED: _l("Stock was received"),
    DEMAND_CREATED: _l("A reader asked for a book"),
    GRADE_CHANGED: _l("A member's grade changed"),
    RETURN_REQUESTED: _l("A return was requested"),
    TEST_EVENT: _l("Test event"),
}
DELIVERY_STATUS_LABELS = {
    DeliveryStatus.PENDING: _l("Waiting"),
    DeliveryStatus.SENDING: _l("Sending"),
    DeliveryStatus.DELIVERED: _l("Delivered"),
    DeliveryStatus.FAILED: _l("Failed"),
}


class EndpointForm(AppForm):
    url = StringField(_l("URL"), filters=[stripped],
                      validators=[Length(max=URL_MAX_LENGTH)],
                      description=_l("Where each event is POSTed, as JSON: http:// or "
                                     "https://."))
    description = StringField(_l("Description"), filters=[stripped],
                              validators=[Length(max=DESCRIPTION_MAX_LENGTH)],
                              description=_l("For you: what this endpoint is for."))
    events = SelectMultipleField(
        _l("Events"), choices=[SelectChoice(event, EVENT_LABELS[event]) for event in EVENT_TYPES],
        validate_choice=False)  # the service names an unknown choice itself


class DeliveryFilterForm(QueryForm):
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status"))]
        + [SelectChoice(s.value, DELIVERY_STATUS_LABELS[s]) for s in DeliveryStatus],
        default="")
    event = SelectField(
        _l("Event"),
        choices=[SelectChoice("", _l("Any event"))]
        + [SelectChoice(e, EVENT_LABELS[e]) for e in (*EVENT_TYPES, TEST_EVENT)],
        default="")
