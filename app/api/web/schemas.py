"""The API's marshmallow schemas: they check the input (422 with each field's messages) and,
through flask-smorest, describe input and output in the OpenAPI document. Money is a decimal
string ("12.50"), times ISO 8601 in UTC."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.catalog.browse import SORTS as BOOK_SORTS
from app.core.forms import CONTROL_MESSAGE, LINE_CONTROLS, TEXT_CONTROLS
from app.demand.reports import SORTS as DEMAND_SORTS
from app.ordering.models import OrderStatus

MAX_PAGE = 10_000


class DecimalString(ma.fields.Decimal):
    """An exact decimal sent as a string ("12.50"): documented as a string of format decimal
    (registered with the Api in app.api.web.register)."""

    def __init__(self, places: int | None = None, **kwargs) -> None:
        super().__init__(places=places, as_string=True, **kwargs)


def _money(**kwargs):
    return DecimalString(places=2, **kwargs)


class NoControlCharacters(validate.Validator):
    """The shop's forms' rule (app.core.forms) for the API's input: no control characters (a
    NUL byte would reach PostgreSQL, which refuses it with a 500); a text body (`text=True`)
    keeps its tabs and line breaks."""

    def __init__(self, *, text: bool = False) -> None:
        self.controls = TEXT_CONTROLS if text else LINE_CONTROLS

    def __call__(self, value: str) -> str:
        if isinstance(value, str) and self.controls.search(value):
            raise ma.ValidationError(str(CONTROL_MESSAGE))
        return value


class Line(ma.fields.String):
    """A one-line string of input: every control character refused (422 with the message)."""

    control_rule = NoControlCharacters()

    def _deserialize(self, value, attr, data, **kwargs):
        return self.control_rule(super()._deserialize(value, attr, data, **kwargs))


class Text(Line):
    """A text body of input: control characters refused except tab and line breaks."""

    control_rule = NoControlCharacters(text=True)


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


# --------------------------------------------------------------------------- errors


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(),
                            values=ma.fields.List(ma.fields.String()),
                            metadata={"description": "Messages for each field of bad input"})


# --------------------------------------------------------------------------- paging


class PageArgs(Strict):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(1, 100))


class PageMeta(ma.Schema):
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    pages = ma.fields.Integer(required=True)


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page envelope: {"items": [...], "page": 1, "per_page": 20, "total": 3, "pages": 1}."""
    return type(name, (PageMeta,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
    })


# --------------------------------------------------------------------------- catalog


class CategorySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    slug = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    books = ma.fields.Integer(required=True, metadata={"description": "Books on sale in it"})


class CategoryList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CategorySchema), required=True)


class BookSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    authors = ma.fields.String(required=True)
    year = ma.fields.Integer(allow_none=True)
    isbn10 = ma.fields.String(allow_none=True)
    isbn13 = ma.fields.String(allow_none=True)
    language = ma.fields.String(allow_none=True)
    publisher = ma.fields.String(allow_none=True)
    price = _money(required=True)
    stock_on_hand = ma.fields.Integer(required=True)
    in_stock = ma.fields.Boolean(required=True)
    category = ma.fields.String(allow_none=True, metadata={"description": "The category's slug"})
    average_rating = ma.fields.Float(allow_none=True)
    ratings_count = ma.fields.Integer(required=True)


class BookDetailSchema(BookSchema):
    description = ma.fields.String(allow_none=True)


BookPage = page_of(BookSchema, "BookPage")


class BookQuery(PageArgs):
    q = Line(validate=validate.Length(max=200),
                         metadata={"description": "Title, authors, ISBN or year"})
    category = Line(validate=validate.Length(max=80),
                                metadata={"description": "A category's slug"})
    in_stock = ma.fields.Boolean(load_default=False)
    sort = ma.fields.String(load_default="relevance", validate=validate.OneOf(BOOK_SORTS))


# --------------------------------------------------------------------------- orders


class OrderLineSchema(ma.Schema):
    book_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    authors = ma.fields.String(required=True)
    unit_price = _money(required=True)
    quantity = ma.fields.Integer(required=True)
    line_total = _money(required=True)


class OrderEventSchema(ma.Schema):
    at = ma.fields.DateTime(required=True)
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String(required=True)
    note = ma.fields.String(allow_none=True)


class OrderSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    number = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    member_id = ma.fields.Integer(required=True)
    email = ma.fields.String(required=True)
    placed_at = ma.fields.DateTime(required=True)
    paid_at = ma.fields.DateTime(allow_none=True)
    shipped_at = ma.fields.DateTime(allow_none=True)
    delivered_at = ma.fields.DateTime(allow_none=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)
    subtotal = _money(required=True)
    discount_total = _money(required=True)
    shipping_fee = _money(required=True)
    total = _money(required=True)
    payment_method = ma.fields.String(required=True)


class OrderDetailSchema(OrderSchema):
    ship_name = ma.fields.String(required=True)
    ship_line1 = ma.fields.String(required=True)
    ship_line2 = ma.fields.String(allow_none=True)
    ship_city = ma.fields.String(required=True)
    ship_region = ma.fields.String(allow_none=True)
    ship_postcode = ma.fields.String(required=True)
    ship_country = ma.fields.String(required=True)
    lines = ma.fields.List(ma.fields.Nested(OrderLineSchema), required=True)
    events = ma.fields.List(ma.fields.Nested(OrderEventSchema), required=True)


OrderPage = page_of(OrderSchema, "OrderPage")


class OrderQuery(PageArgs):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in OrderStatus]))
    q = Line(validate=validate.Length(max=200),
                         metadata={"description": "Order number, email or customer"})
    placed_from = ma.fields.Date()
    placed_to = ma.fields.Date()


class MyOrderQuery(Strict):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))


class StatusChange(Strict):
    status = ma.fields.String(required=True,
                              validate=validate.OneOf([s.value for s in OrderStatus]))
    note = Text(validate=validate.Length(max=500), allow_none=True)


# --------------------------------------------------------------------------- stock


class ReceiptIn(Strict):
    book = Line(required=True, validate=validate.Length(min=1, max=20),
                            metadata={"description": "The book's id or ISBN"})
    quantity = ma.fields.Integer(required=True, strict=True,
                                 validate=validate.Range(1, 100_000))
    supplier = Line(validate=validate.Length(max=200), allow_none=True)
    reference = Line(validate=validate.Length(max=200), allow_none=True)
    note = Text(validate=validate.Length(max=500), allow_none=True)


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key", required=True,
        validate=[validate.Length(min=1, max=200),
                  validate.Regexp(r"^[\x21-\x7e]+$",
                                  error="Printable ASCII without spaces, please.")],
        metadata={"description": "A key of the client's choosing; a retry with the same key "
                                 "gets the first answer and records nothing"})


class ReceiptOut(ma.Schema):
    id = ma.fields.Integer(required=True)
    book_id = ma.fields.Integer(required=True)
    quantity = ma.fields.Integer(required=True)
    supplier = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    received_at = ma.fields.DateTime(required=True)
    held = ma.fields.Integer(required=True)
    shelved = ma.fields.Integer(required=True)
    notified = ma.fields.Integer(required=True)
    mails = ma.fields.Integer(required=True)
    unserved = ma.fields.Integer(required=True)


# --------------------------------------------------------------------------- demand


class BookDemandSchema(ma.Schema):
    book_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    authors = ma.fields.String(required=True)
    isbn13 = ma.fields.String(allow_none=True)
    stock = ma.fields.Integer(required=True)
    waiting = ma.fields.Integer(required=True)
    quantity = ma.fields.Integer(required=True)
    suggested = ma.fields.Integer(required=True)
    oldest = ma.fields.DateTime(required=True)
    newest = ma.fields.DateTime(required=True)


BookDemandPage = page_of(BookDemandSchema, "BookDemandPage")


class DemandQuery(PageArgs):
    q = Line(validate=validate.Length(max=200))
    only_out = ma.fields.Boolean(load_default=False)
    sort = ma.fields.String(load_default="waiting", validate=validate.OneOf(DEMAND_SORTS))


class RequestGroupSchema(ma.Schema):
    key = ma.fields.String(required=True)
    isbn = ma.fields.String(allow_none=True)
    title = ma.fields.String(required=True)
    author = ma.fields.String(allow_none=True)
    readers = ma.fields.Integer(required=True)
    quantity = ma.fields.Integer(required=True)
    oldest = ma.fields.DateTime(required=True)


RequestGroupPage = page_of(RequestGroupSchema, "RequestGroupPage")


class MyDemandSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    book_id = ma.fields.Integer(allow_none=True)
    title = ma.fields.String(allow_none=True)
    quantity = ma.fields.Integer(required=True)
    note = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    held = ma.fields.Integer(required=True)
    hold_until = ma.fields.DateTime(allow_none=True)


MyDemandPage = page_of(MyDemandSchema, "MyDemandPage")


class DemandIn(Strict):
    book_id = ma.fields.Integer(required=True, strict=True,
                                validate=validate.Range(1, 2_147_483_647))
    quantity = ma.fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 99))
    note = Text(validate=validate.Length(max=500), allow_none=True)


# --------------------------------------------------------------------------- me


class ProfileSchema(ma.Schema):
    member_no = ma.fields.String(allow_none=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    phone = ma.fields.String(allow_none=True)
    joined_at = ma.fields.DateTime(required=True)
    grade = ma.fields.String(required=True)
    locale = ma.fields.String(allow_none=True)


class GradeRef(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True, metadata={"description": "The name in English."})
    names = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), required=True,
        metadata={"description": "The name in each language that has one, by language code "
                                 "(en, zh_Hans); a language missing here uses the English "
                                 "name."})
    min_spend = _money(required=True)
    discount_rate = DecimalString(required=True)


class GradeSchema(ma.Schema):
    current = ma.fields.Nested(GradeRef, required=True)
    earned = ma.fields.Nested(GradeRef, required=True)
    next = ma.fields.Nested(GradeRef, allow_none=True)
    spend = _money(required=True)
    needed = _money(required=True)
    progress_percent = ma.fields.Integer(required=True)


class CartLineSchema(ma.Schema):
    book_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    unit_price = _money(required=True)
    line_total = _money(required=True)
    problem = ma.fields.String(allow_none=True)


class CartSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CartLineSchema), required=True)
    count = ma.fields.Integer(required=True)
    subtotal = _money(required=True)
    discount_rate = DecimalString(required=True)
    discount = _money(required=True)
    shipping = _money(required=True)
    total = _money(required=True)


class CartAdd(Strict):
    book_id = ma.fields.Integer(required=True, strict=True,
                                validate=validate.Range(1, 2_147_483_647))
    quantity = ma.fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 99))


class CartSet(Strict):
    quantity = ma.fields.Integer(required=True, strict=True, validate=validate.Range(0, 99))


# --------------------------------------------------------------------------- customers


class TagSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class CustomerSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    member_no = ma.fields.String(allow_none=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    joined_at = ma.fields.DateTime(required=True)
    grade = ma.fields.String(required=True)
    order_count = ma.fields.Integer(required=True)
    lifetime_spend = _money(required=True)
    last_order_at = ma.fields.DateTime(allow_none=True)
    is_active = ma.fields.Boolean(required=True)


CustomerPage = page_of(CustomerSchema, "CustomerPage")


class CustomerQuery(PageArgs):
    q = Line(validate=validate.Length(max=200),
                         metadata={"description": "Name, email, phone or member number"})
    tier = Line(validate=validate.Length(max=32))
    tag_id = ma.fields.Integer(validate=validate.Range(1, 2_147_483_647))
    sort = ma.fields.String(load_default="name",
                            validate=validate.OneOf(["name", "joined", "last_order", "spend"]))


class NoteSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    staff_id = ma.fields.Integer(allow_none=True)
    follow_up_on = ma.fields.Date(allow_none=True)
    follow_up_done_at = ma.fields.DateTime(allow_none=True)


class CustomerRecordSchema(CustomerSchema):
    phone = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.Nested(TagSchema), required=True)
    notes = ma.fields.List(ma.fields.Nested(NoteSchema), required=True)
    orders = ma.fields.List(ma.fields.Nested(OrderSchema), required=True)
    order_total = ma.fields.Integer(required=True)


class TagIn(Strict):
    name = Line(required=True, validate=validate.Length(min=1, max=40))


class TagList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TagSchema), required=True)


class NoteIn(Strict):
    kind = ma.fields.String(required=True, validate=validate.OneOf(
        ["phone", "email", "visit", "complaint", "compliment", "other"]))
    body = Text(required=True, validate=validate.Length(min=1, max=4000))
    follow_up_on = ma.fields.Date(allow_none=True)


NotePage = page_of(NoteSchema, "NotePage")

