"""Staff write to a customer from the record, the customer answers through the mail's link
without logging in, and the answer shows on the record as a case, in real headless Chromium
(issue 21)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.core.extensions import db
from app.models import OutboxMail
from tests.factories import DEFAULT_PASSWORD, make_member, make_staff

LINK = re.compile(r"http://localhost(/replies/\S+)")


@pytest.fixture
def rita(live_app) -> int:
    with live_app.app_context():
        member = make_member(email="rita@example.test", name="Rita Reader")
        make_staff(email="sam@example.test", name="Sam Support")
        db.session.commit()
        return member.id


def test_staff_write_the_customer_answers_by_the_link_and_the_record_shows_the_case(
        browser, live_server, live_app, page, rita):
    page.goto("/account/login")
    page.locator("input[name=email]").fill("sam@example.test")
    page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    page.locator("input[name=password]").press("Enter")
    expect(page.locator("input[name=password]")).to_have_count(0)
    page.goto(f"/admin/customers/{rita}")
    page.get_by_test_id("write-to-customer").click()
    page.locator("input[name=subject]").fill("Your copy of Dune")
    page.locator("textarea[name=body]").fill("Dear {name}, it is on its way.")
    page.locator("form.stacked button[type=submit]").click()
    expect(page.get_by_test_id("customer-mail")).to_have_count(1)
    with live_app.app_context():
        text = db.session.scalars(sa.select(OutboxMail.body_text)).one()
    link = LINK.search(text).group(1)

    customer = browser.new_context(base_url=live_server).new_page()
    customer.goto(link)
    expect(customer.get_by_test_id("reply-subject")).to_have_text("Your copy of Dune")
    expect(customer.get_by_test_id("reply-mail")).to_contain_text("it is on its way")
    form = customer.get_by_test_id("mail-reply-form")
    form.locator("button[type=submit]").click()
    expect(customer.locator("#body-error")).to_contain_text("Please write your message.")
    form.locator("textarea[name=body]").fill("Thank you! Could you gift-wrap it?")
    form.locator("button[type=submit]").click()
    expect(customer.get_by_test_id("reply-case")).to_contain_text("C-")
    customer.context.close()

    page.reload()
    page.get_by_test_id("mail-answered").click()
    expect(page.get_by_test_id("message-out")).to_contain_text("it is on its way")
    expect(page.get_by_test_id("message-in")).to_contain_text("gift-wrap")
