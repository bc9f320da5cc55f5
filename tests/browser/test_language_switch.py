"""Switching to Chinese in real headless Chromium (issue 6): the header's switch changes the page
in place, the choice sticks, and a new shopper buys a book without leaving Chinese."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.core.extensions import db
from app.models import Member, Order
from tests.browser.conftest import follow_join_link
from tests.factories import make_book, make_category
from tests.i18n.conftest import compile_catalogs


@pytest.fixture(autouse=True)
def compiled_catalogs():
    compile_catalogs()


@pytest.fixture
def catalog(live_app):
    with live_app.app_context():
        fiction = make_category(slug="fiction", name="小说")
        make_book(title="三体", authors="刘慈欣", price=Decimal("68.50"), stock_on_hand=3,
                  category_id=fiction.id)
        make_book(title="The Hobbit", authors="J. R. R. Tolkien", price=Decimal("45.00"),
                  stock_on_hand=2, category_id=fiction.id)
        db.session.commit()


def test_switching_language_changes_the_page_and_a_purchase_runs_in_chinese(page, catalog,
                                                                             live_app):
    page.goto("/search?q=hobbit")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Search")).to_be_visible()

    page.get_by_test_id("language-switch").get_by_role("link", name="简体中文").click()
    expect(page).to_have_url(re.compile(r"/search\?q=hobbit$"))  # the same page, same query
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("button", name="搜索")).to_be_visible()
    expect(page.get_by_role("link", name="English")).to_be_visible()

    page.goto("/account/register")  # the choice sticks from page to page
    page.get_by_label("电子邮箱").fill("liu@example.test")
    page.get_by_label("您的姓名").fill("刘读者")
    page.get_by_label("密码", exact=True).fill("san ti reader 42")
    page.get_by_label("再次输入密码").fill("san ti reader 42")
    page.get_by_role("button", name="创建我的账户").click()
    expect(page.get_by_test_id("join-sent")).to_be_visible()
    follow_join_link(page, live_app, "liu@example.test", "san ti reader 42")
    expect(page.get_by_text(re.compile("欢迎加入"))).to_be_visible()

    page.get_by_role("searchbox", name="搜索图书").fill("三体")
    page.get_by_role("searchbox", name="搜索图书").press("Enter")
    page.get_by_role("link", name="三体").first.click()
    expect(page.get_by_text("¥68.50").first).to_be_visible()
    page.get_by_role("button", name="加入购物车").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")

    page.goto("/cart")
    page.get_by_role("link", name="去结账").click()
    page.get_by_label("姓名", exact=True).fill("刘读者")
    page.get_by_label("地址", exact=True).fill("人民路 1 号")
    page.get_by_label("城市").fill("杭州")
    page.get_by_label("邮政编码").fill("310000")
    page.get_by_label("国家或地区").fill("中国")
    page.get_by_label("货到付款").check()
    page.get_by_role("button", name=re.compile("提交订单")).click()

    expect(page.get_by_text(re.compile(r"谢谢！您的订单 BS-\d{7} 已提交"))).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    with live_app.app_context():
        order = db.session.scalar(sa.select(Order))
        assert [line.title for line in order.lines] == ["三体"]
        member = db.session.scalar(sa.select(Member).where(Member.email == "liu@example.test"))
        assert member.locale == "zh_Hans"  # joined while reading Chinese: kept for later mail

    page.get_by_test_id("language-switch").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with live_app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.email == "liu@example.test"))
        assert member.locale == "en"  # a logged-in member's switch is saved on the account
