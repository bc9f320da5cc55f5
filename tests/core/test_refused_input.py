"""A NUL byte in a search and an absurd number in a money field are refused with a message
beside the field (issue 17, item 9), on the HTML pages and their CSV exports alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app.core.extensions import db
from app.core.forms import CONTROL_MESSAGE, DecimalInput, RefuseControlCharacters
from app.models import Book, Campaign, Tier
from tests.factories import make_admin, make_member, make_placed_order
from tests.pages import log_in

CONTROL = str(CONTROL_MESSAGE)


@pytest.fixture
def as_admin(app, client):
    with app.app_context():
        make_admin(email="boss@example.test")
        make_placed_order(make_member(email="ada@example.test", name="Ada Lovelace"))
        db.session.commit()
    log_in(client, "boss@example.test")
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/customers", "/admin/customers.csv", "/admin/orders",
                                  "/admin/orders.csv"])
@pytest.mark.parametrize("query", ["ada\x00", "\x00", "ada\x1b[2J"])
def test_a_control_character_in_the_customer_or_order_search_is_refused_with_a_message(
        as_admin, path, query):
    response = as_admin.get(path, query_string={"q": query})

    assert response.status_code == 400
    assert response.mimetype == "text/html"  # the list with the message, not a cut-off file
    assert CONTROL in _text(response)
    assert 'value="ada' in _text(response) or query.startswith("\x00")
    assert "\x00" not in _text(response)


def test_the_same_search_without_the_nul_byte_still_finds_the_customer(as_admin):
    assert "Ada Lovelace" in _text(as_admin.get("/admin/customers", query_string={"q": "ada"}))
    assert "ada@example.test" in _text(as_admin.get("/admin/orders.csv",
                                                    query_string={"q": "ada"}))


BOOK = {"title": "Priced", "authors": "An Author", "stock_on_hand": "3", "category_id": "0",
        "is_active": "y"}


@pytest.mark.parametrize("price", ["1e309", "1E2", "inf", "-Infinity", "nan", "-0", "-0.00",
                                   "9" * 40, "0x10", "1_000", "²"])
def test_a_book_price_that_is_not_a_plain_amount_is_refused(app, as_admin, price):
    response = as_admin.post("/admin/books/new", data={**BOOK, "price": price})

    assert response.status_code == 400
    assert "Enter an amount such as 12.50." in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Book.id))) == 1  # the order's only


@pytest.mark.parametrize(("price", "cents"), [("12.5", Decimal("12.50")),
                                              ("0", Decimal("0.00")), ("+7", Decimal("7.00")),
                                              ("１２.50", Decimal("12.50"))])
def test_a_plain_book_price_is_taken(app, as_admin, price, cents):
    response = as_admin.post("/admin/books/new", data={**BOOK, "price": price})

    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Book.price).where(Book.title == "Priced")) == cents


@pytest.mark.parametrize("field", ["rows-1-min_spend", "rows-1-discount"])
@pytest.mark.parametrize("value", ["1e309", "nan", "-inf", "-0", "9" * 40])
def test_the_tier_table_refuses_non_finite_and_absurd_numbers(app, as_admin, field, value):
    data = {"rows-0-code": "regular", "rows-0-name": "Regular", "rows-0-min_spend": "0",
            "rows-0-discount": "0", "rows-1-code": "silver", "rows-1-name": "Silver",
            "rows-1-min_spend": "500", "rows-1-discount": "5", field: value}
    with app.app_context():
        before = db.session.execute(sa.select(Tier.code, Tier.min_spend)).all()

    response = as_admin.post("/admin/tiers", data=data)

    assert response.status_code == 400
    assert "Enter a number such as 500 or 499.50." in _text(response)
    with app.app_context():
        assert db.session.execute(sa.select(Tier.code, Tier.min_spend)).all() == before


def test_the_tier_table_still_takes_thousands_separators(app, as_admin):
    response = as_admin.post("/admin/tiers", data={
        "rows-0-code": "regular", "rows-0-name": "Regular", "rows-0-min_spend": "0",
        "rows-0-discount": "0", "rows-1-code": "silver", "rows-1-name": "Silver",
        "rows-1-min_spend": "1,000.50", "rows-1-discount": "5"})

    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Tier.min_spend).where(Tier.code == "silver")) \
            == Decimal("1000.50")


@pytest.mark.parametrize("holdout", ["nan", "1e309", "-0", "inf"])
def test_a_campaign_hold_out_that_is_not_a_plain_percentage_is_refused(app, as_admin, holdout):
    response = as_admin.post("/admin/campaigns/new", data={
        "name": "C", "audience": "tier:regular", "subject": "S", "message": "M",
        "holdout": holdout})

    assert response.status_code == 400
    assert "Enter a percentage from 0 to 50." in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 0


# --------------------------------------------------------------------------- the shared parts


def _decimal(text: str, **options):
    from wtforms import Form

    class _Form(Form):
        amount = DecimalInput(**options)

    form = _Form(MultiDict({"amount": text}))
    return form.amount.data, [str(e) for e in form.amount.process_errors]


def test_decimal_input_takes_plain_numbers_only():
    assert _decimal("12.50") == (Decimal("12.50"), [])
    assert _decimal(" .5 ") == (Decimal("0.5"), [])
    assert _decimal("") == (None, [])
    assert _decimal("1,000.5", thousands=True) == (Decimal("1000.5"), [])
    assert _decimal("-3") == (Decimal("-3"), [])  # for the range check to refuse
    assert _decimal("9" * 12) == (Decimal("9" * 12), [])
    for bad in ["1e309", "inf", "nan", "-0", "9" * 13, "1." + "0" * 11, "1,000", ".", "-",
                "0x1", "1_0", "²", "1 000"]:
        assert _decimal(bad) == (None, ["Enter a number such as 12.50."]), bad


def test_control_characters_are_cleaned_and_reported_but_a_text_area_keeps_line_breaks():
    from wtforms import Form, HiddenField, StringField, TextAreaField

    class _Form(RefuseControlCharacters, Form):
        line = StringField()
        text = TextAreaField()
        other = TextAreaField()
        next = HiddenField()

    form = _Form(MultiDict({"line": "a\nb\x00c", "text": "one\r\ntwo\tthree",
                            "other": "x\x00y", "next": "/a\nb"}))

    assert (form.line.data, form.text.data, form.other.data) == ("abc", "one\r\ntwo\tthree",
                                                                 "xy")
    assert form.next.data == ""  # dropped: a hidden field's message would never be seen
    assert not form.validate()
    assert form.errors == {"line": [CONTROL], "other": [CONTROL]}
