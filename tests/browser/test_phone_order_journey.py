"""A staff member takes a phone order end to end in real headless Chromium, then finds it on
the customer's timeline under "during"."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa
from playwright.sync_api import expect

from app.core.extensions import db
from app.models import Order, OrderChannel
from tests.factories import DEFAULT_PASSWORD, make_book, make_member, make_staff


def test_staff_take_a_phone_order_and_find_it_on_the_timeline(page, live_app):
    with live_app.app_context():
        make_staff(email="agent@example.test", name="Alex Agent")
        make_member(name="Pat Caller", email="pat@example.test", phone="+86 21 5555 0101",
                    address_line1="9 Call Street", city="Shanghai", postcode="200001",
                    country="China")
        make_book(title="Solaris", authors="Stanisław Lem", price=Decimal("50.00"),
                  stock_on_hand=2)
        db.session.commit()

    page.goto("/account/login")
    page.get_by_label("Email").fill("agent@example.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto("/admin/")
    page.get_by_role("link", name="New phone order").click()
    page.get_by_label("Name, phone, email, member number or order number").fill("5555-0101")
    page.get_by_role("button", name="Find the caller").click()
    page.get_by_role("link", name="Take an order").click()
    expect(page.get_by_role("heading", name="Phone order for Pat Caller")).to_be_visible()

    page.get_by_label("Find a book").fill("solaris")
    page.get_by_role("region", name="Add a book").get_by_role("button", name="Search").click()
    page.get_by_test_id("book-result").get_by_role("button", name="Add to cart").click()
    expect(page.get_by_test_id("cart-line")).to_contain_text("Solaris")
    expect(page.get_by_label("Full name")).to_have_value("Pat Caller")
    page.get_by_label("Pay on delivery").check()
    page.get_by_test_id("place-phone-order").click()

    expect(page.get_by_test_id("order-channel")).to_contain_text("Alex Agent")
    number = re.search(r"BS-\d{7}", page.content()).group(0)
    with live_app.app_context():
        order = db.session.scalar(sa.select(Order))
        assert order.channel == OrderChannel.PHONE and order.number == number
        member_id = order.member_id

    page.goto(f"/admin/customers/{member_id}")
    page.get_by_label("Phase").select_option("during")
    page.get_by_role("button", name="Show").first.click()
    events = page.get_by_test_id("timeline-event")
    placed = events.filter(has_text="Order placed").filter(has_text=number)
    expect(placed).to_have_attribute("data-phase", "during")
    expect(placed).to_contain_text("During the sale")
    expect(events.filter(has_text="Phone call").first).to_be_visible()
    expect(page.locator('[data-phase="before"]')).to_have_count(0)
