"""The main pages in Simplified Chinese show no English message ids (issue 6): every text node
and text attribute is compared with the catalog's msgids (placeholders match anything)."""

from __future__ import annotations

import pytest

from app.core.extensions import db
from tests.factories import (
    make_admin,
    make_book,
    make_category,
    make_demand,
    make_member,
    make_placed_order,
)
from tests.i18n.pages import english_left
from tests.pages import log_in

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def shop(app) -> dict:
    with app.app_context():
        fiction = make_category(slug="fiction", name="小说")
        book = make_book(title="三体", authors="刘慈欣", category=fiction, stock_on_hand=3)
        sold_out = make_book(title="活着", authors="余华", category=fiction, stock_on_hand=0)
        reader = make_member(email="reader@example.test", name="小林",
                             address_line1="人民路 1 号", city="杭州", postcode="310000",
                             country="中国")
        make_admin(email="admin@example.test", name="店长")
        order = make_placed_order(reader, lines=[(book, 1)])
        make_demand(reader, sold_out)
        db.session.commit()
        return {"book": book.id, "sold_out": sold_out.id, "order": order.id,
                "reader": reader.id}


VISITOR_PAGES = ["/", "/category/fiction", "/book/{book}", "/book/{sold_out}", "/search?q=三体",
                 "/search?q=nothing-matches-this", "/search", "/account/login",
                 "/account/register", "/account/forgot", "/cart", "/no-such-page"]
MEMBER_PAGES = ["/account/", "/account/profile", "/account/password", "/account/grade",
                "/orders", "/orders/{order}", "/demand/", "/demand/preferences", "/demand/request",
                "/book/{sold_out}", "/cart", "/checkout"]
ADMIN_PAGES = ["/admin/", "/admin/books", "/admin/books/new", "/admin/books/{book}/edit",
               "/admin/orders", "/admin/orders/{order}", "/admin/categories",
               "/admin/categories/new", "/admin/tiers", "/admin/demand", "/admin/demand/requests",
               "/admin/stock/receipts", "/admin/mail/", "/admin/customers",
               "/admin/customers/{reader}", "/admin/follow-ups", "/admin/audit",
               "/admin/campaigns", "/admin/campaigns/new", "/admin/reviews", "/admin/analytics",
               "/admin/analytics/migration", "/admin/satisfaction", "/admin/forecast"]


def _check(client, paths, shop, patterns):
    problems = {}
    for path in paths:
        response = client.get(path.format(**shop), headers=ZH)
        assert response.status_code in (200, 404), (path, response.status_code)
        html = response.get_data(as_text=True)
        assert '<html lang="zh-Hans">' in html, path
        left = english_left(html, patterns)
        if left:
            problems[path] = left
    assert not problems, problems


def test_visitor_pages_show_no_english(client, shop, english_patterns):
    _check(client, VISITOR_PAGES, shop, english_patterns)


def test_member_pages_show_no_english(client, shop, english_patterns):
    log_in(client, "reader@example.test", headers=ZH)
    client.post("/cart/add", data={"book_id": shop["book"], "quantity": 1}, headers=ZH)
    _check(client, MEMBER_PAGES, shop, english_patterns)


def test_admin_pages_show_no_english(client, shop, english_patterns):
    log_in(client, "admin@example.test", headers=ZH)
    _check(client, ADMIN_PAGES, shop, english_patterns)


def test_the_check_itself_finds_english(client, shop, english_patterns):
    english = client.get("/account/login").get_data(as_text=True)
    assert ("Log in", "Log in") in english_left(english, english_patterns)
