"""Cart and checkout forms, and the staff's order forms: they check shape; the cart, checkout
and order services re-check the rules."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.admin.forms import QueryForm, sane_date, stripped
from app.core.forms import AppForm
from app.core.i18n import lazy_gettext as _l
from app.ordering import payment
from app.ordering.cart import MAX_LINE_QUANTITY
from app.ordering.checkout import CHECKOUT_KEY_PATTERN, NOTE_MAX_LENGTH, ShippingAddress
from app.ordering.models import OrderStatus
from app.ordering.orders import STATUS_LABELS

_BOOK_ID_MAX = 2**31 - 1


class WholeNumberField(IntegerField):
    """An IntegerField whose "not a number" error says what is wanted, like its range check."""

    def __init__(self, *args, not_a_number=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.not_a_number = not_a_number

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(self.not_a_number or str(exc)) from None


def _book_id_field() -> IntegerField:
    return IntegerField(
        _l("Book"),
        validators=[
            InputRequired(_l("Which book?")),
            NumberRange(min=1, max=_BOOK_ID_MAX, message=_l("We could not find that book.")),
        ],
    )


def _quantity_message():
    return _l("Please choose a quantity from %(low)d to %(high)d.", low=1, high=MAX_LINE_QUANTITY)


class AddToCartForm(AppForm):
    book_id = _book_id_field()
    # Missing means 1 (a plain "Add to cart" button); present but wrong is an error.
    quantity = WholeNumberField(
        _l("Quantity"),
        default=1,
        not_a_number=_quantity_message(),
        validators=[Optional(), NumberRange(min=1, max=MAX_LINE_QUANTITY,
                                            message=_quantity_message())],
    )
    next = HiddenField()


class CartLineForm(AppForm):
    """Change one line's quantity; 0 removes the line."""

    book_id = _book_id_field()
    quantity = WholeNumberField(
        _l("Quantity"),
        not_a_number=_l("Please choose a quantity from %(low)d to %(high)d.", low=0,
                        high=MAX_LINE_QUANTITY),
        validators=[
            InputRequired(_l("Please enter a quantity (0 removes the book).")),
            NumberRange(min=0, max=MAX_LINE_QUANTITY,
                        message=_l("Please choose a quantity from %(low)d to %(high)d.",
                                   low=0, high=MAX_LINE_QUANTITY)),
        ],
    )


class RemoveFromCartForm(AppForm):
    book_id = _book_id_field()


def _address_field(label, key: str, required: bool, description=None, cls=StringField):
    limit = ShippingAddress.LIMITS[key]
    validators = [DataRequired(_l("This is needed to deliver your parcel."))] if required else [
        Optional()]
    validators.append(Length(max=limit, message=_l("At most %(max)d characters.", max=limit)))
    if key == "phone":
        validators.append(Regexp(r"^[0-9+()\-.\s]+$",
                                 message=_l("Use digits, spaces and + ( ) - . only.")))
    return cls(label, description=description, validators=validators)


class CheckoutForm(AppForm):
    name = _address_field(_l("Full name"), "name", True,
                          description=_l("The person who receives the parcel."))
    phone = _address_field(_l("Phone"), "phone", False, cls=TelField,
                           description=_l("Optional. Only for the courier."))
    line1 = _address_field(_l("Address"), "line1", True, description=_l("Street and number."))
    line2 = _address_field(_l("Address line 2"), "line2", False,
                           description=_l("Flat, floor, building (optional)."))
    city = _address_field(_l("City"), "city", True)
    region = _address_field(_l("Province, state or region"), "region", False)
    postcode = _address_field(_l("Postcode"), "postcode", True)
    country = _address_field(_l("Country"), "country", True)
    payment_method = RadioField(
        _l("Payment method"),
        validators=[InputRequired(_l("Please choose a payment method."))],
    )
    note = TextAreaField(
        _l("Note for the shop"),
        description=_l("Optional, e.g. a delivery time that suits you."),
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH,
                                       message=_l("At most %(max)d characters.",
                                                  max=NOTE_MAX_LENGTH))],
    )
    save_address = BooleanField(_l("Save this address to my profile for next time"))
    # One key per checkout page (the view fills it in): the order is placed once, however
    # often the form is sent. Optional, so a page from before the key still checks out.
    checkout_key = HiddenField(validators=[
        Optional(),
        Regexp(CHECKOUT_KEY_PATTERN, message=_l("This checkout form has expired. Please check "
                                               "your order and place it again.")),
    ])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.payment_method.choices = payment.choices()

    def address(self) -> ShippingAddress:
        return ShippingAddress(
            name=self.name.data or "",
            line1=self.line1.data or "",
            line2=self.line2.data,
            city=self.city.data or "",
            region=self.region.data,
            postcode=self.postcode.data or "",
            country=self.country.data or "",
            phone=self.phone.data,
        )


# --------------------------------------------------------------------------- admin: orders


class OrderFilterForm(QueryForm):
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status"))]
        + [SelectChoice(s.value, STATUS_LABELS[s]) for s in OrderStatus],
        default="",
    )
    date_from = DateField(_l("Placed from"), validators=[Optional(), sane_date])
    date_to = DateField(_l("Placed until"), validators=[Optional(), sane_date])
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
