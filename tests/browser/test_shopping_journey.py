"""A shopper's whole journey in real headless Chromium: register, search, add to cart, check out,
see the order."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.core.extensions import db
from app.models import Book, Order
from tests.browser.conftest import follow_join_link
from tests.factories import make_book, make_category


@pytest.fixture
def catalog(live_app):
    with live_app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        make_book(title="The Left Hand of Darkness", authors="Ursula K. Le Guin",
                  price=Decimal("58.00"), stock_on_hand=3, category_id=fiction.id)
        make_book(title="A Wizard of Earthsea", authors="Ursula K. Le Guin",
                  price=Decimal("45.50"), stock_on_hand=1, category_id=fiction.id)
        db.session.commit()


def test_a_new_shopper_registers_finds_a_book_buys_it_and_sees_the_order(page, catalog, live_app):
    page.goto("/account/register")
    page.get_by_label("Email").fill("ged@example.test")
    page.get_by_label("Your name").fill("Sparrowhawk Ged")
    page.get_by_label("Password", exact=True).fill("true names 123")
    page.get_by_label("Repeat the password").fill("true names 123")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    follow_join_link(page, live_app, "ged@example.test", "true names 123")
    expect(page.get_by_text(re.compile(r"M\d{4}-\d{6}")).first).to_be_visible()

    page.get_by_role("searchbox", name="Search books").fill("earthsea")
    page.get_by_role("searchbox", name="Search books").press("Enter")
    page.get_by_role("link", name="A Wizard of Earthsea").first.click()
    expect(page.get_by_role("heading", name="A Wizard of Earthsea")).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()

    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    page.goto("/cart")
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Full name").fill("Sparrowhawk Ged")
    page.get_by_label("Address", exact=True).fill("1 Roke Knoll")
    page.get_by_label("City").fill("Thwil")
    page.get_by_label("Postcode").fill("100000")
    page.get_by_label("Country").fill("Earthsea")
    page.get_by_label("Pay on delivery").check()
    page.get_by_role("button", name=re.compile("Place order")).click()

    expect(page.get_by_text(re.compile(r"BS-\d{7}")).first).to_be_visible()
    expect(page.get_by_text("A Wizard of Earthsea").first).to_be_visible()
    with live_app.app_context():
        order = db.session.scalar(sa.select(Order))
        assert order is not None and order.email == "ged@example.test"
        assert [line.title for line in order.lines] == ["A Wizard of Earthsea"]
        book = db.session.scalar(sa.select(Book).where(Book.title == "A Wizard of Earthsea"))
        assert book.stock_on_hand == 0
    page.goto("/orders")
    expect(page.get_by_text(order.number)).to_be_visible()
