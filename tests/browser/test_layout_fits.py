"""The shop and the admin fit the screen (issue 22), in headless Chromium at a phone's 375 px
and a laptop's 1280 px: every category is reachable from the header's bar (in the bar or in
its "More" menu, by keyboard too), no page scrolls sideways, and on a phone the book grids
show two books a row (the home page was one tall card per row: measured before and after)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.analytics import satisfaction, snapshots
from app.core.extensions import db
from app.models import OrderStatus
from app.seed.categories import CATEGORIES
from tests.factories import (
    DEFAULT_PASSWORD,
    make_admin,
    make_book,
    make_category,
    make_member,
    make_placed_order,
)

WIDTHS = [375, 1280]
NO_SIDEWAYS = "document.scrollingElement.scrollWidth <= window.innerWidth"
# what sticks out on the right, to name the culprit when a page scrolls sideways
STICKING_OUT = """() => { const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > window.innerWidth + 1)
      out.push(`${el.tagName}.${el.className} ${Math.round(box.right)}px`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(walker.currentNode);
    const box = range.getBoundingClientRect();
    if (box.right > window.innerWidth + 1)
      out.push(`text "${walker.currentNode.textContent.trim().slice(0, 40)}" ${box.right}px`);
  }
  return out.slice(0, 8); }"""


@pytest.fixture
def shop(live_app):
    """The demo's fifteen categories with four books each, an admin, and customers with
    orders, tags and phone numbers; the analysis snapshots computed."""
    with live_app.app_context():
        books = []
        for info in CATEGORIES:
            category = make_category(slug=info.slug, name=info.name, position=info.position)
            for n in range(4):
                books.append(make_book(
                    title=f"A rather long title for a {info.name} book, volume {n + 1}",
                    authors="Ursula K. Le Guin, Samuel R. Delany", category_id=category.id,
                    price=Decimal("12.50") + n, stock_on_hand=n + 5))
        make_admin(email="boss@example.test", name="Bea Boss")
        now = datetime.now(UTC)
        customers = []
        for i in range(6):
            member = make_member(name=f"Customer With A Long Name {i}",
                                 phone="+86 138 0013 8000 ext. 1234",
                                 joined_at=now - timedelta(days=300))
            customers.append(member)
            for k in range(i + 1):
                make_placed_order(member, lines=[(books[(i * 7 + k) % len(books)], 1)],
                                  status=OrderStatus.DELIVERED,
                                  placed_at=now - timedelta(days=10 + 30 * k + 5 * i))
        db.session.commit()
        snapshots.recompute()
        satisfaction.compute_all()
        db.session.commit()
        return {"book": books[-1].id, "customer": customers[-1].id}


def _log_in(page, email: str) -> None:
    page.goto("/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")


@pytest.fixture
def sized(browser, live_server):
    contexts = []

    def open_page(width: int, *, bypass_csp: bool = False):
        context = browser.new_context(base_url=live_server, bypass_csp=bypass_csp,
                                      viewport={"width": width, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_category_is_reachable_from_the_bar(sized, shop, width):
    page = sized(width)
    page.goto("/")
    bar = page.get_by_role("navigation", name="Categories", exact=True)
    more = bar.get_by_test_id("category-more")

    in_bar = [c.name for c in CATEGORIES
              if bar.locator(".category-links").get_by_role("link", name=c.name,
                                                            exact=True).is_visible()]
    assert in_bar, "the bar shows some categories at every width"
    if len(in_bar) < len(CATEGORIES):
        summary = more.locator("summary")
        expect(summary).to_be_visible()
        summary.focus()
        page.keyboard.press("Enter")  # opens by keyboard
        for info in CATEGORIES:
            if info.name not in in_bar:
                expect(more.get_by_role("link", name=info.name, exact=True)).to_be_visible()
        hidden_twins = [c.name for c in CATEGORIES if c.name in in_bar and more.get_by_role(
            "link", name=c.name, exact=True).is_visible()]
        assert not hidden_twins, "a category shows once: in the bar or in More"
    else:
        expect(more).to_be_hidden()
    if width == 1280:
        assert len(in_bar) >= 6
    assert page.evaluate(NO_SIDEWAYS)
    bar_height = bar.bounding_box()["height"]
    assert bar_height < 60, "one row of links, not a wall"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_shop_pages_do_not_scroll_sideways(sized, shop, width):
    page = sized(width)
    page.goto(f"/book/{shop['book']}")
    page.get_by_role("button", name="Add to cart").click()
    for path in ["/", "/category/fiction", "/search?q=title", f"/book/{shop['book']}", "/cart"]:
        page.goto(path)
        assert page.evaluate(NO_SIDEWAYS), (path, width, page.evaluate(STICKING_OUT))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admins_main_pages_do_not_scroll_sideways(sized, shop, width):
    page = sized(width)
    _log_in(page, "boss@example.test")
    for path in ["/admin/", "/admin/customers", f"/admin/customers/{shop['customer']}",
                 "/admin/orders", "/admin/analytics", "/admin/analytics/migration",
                 "/admin/satisfaction", "/admin/reviews"]:
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
        assert page.evaluate(NO_SIDEWAYS), (path, width, page.evaluate(STICKING_OUT))
    page.goto("/admin/customers")
    phone = page.locator("td.tel").filter(has_text="+86").first
    lines = phone.evaluate("""cell => { const range = document.createRange();
        range.selectNodeContents(cell); return range.getClientRects().length; }""")
    assert lines == 1, "a phone number stays on one line"


def test_a_phone_shows_two_books_a_row_and_the_home_page_is_much_shorter(sized, shop):
    page = sized(375, bypass_csp=True)
    page.goto("/")
    cards = page.locator(".book-grid .book-card")
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    after = page.evaluate("document.scrollingElement.scrollHeight")

    # the same page with the old one-card-a-row grid, for the before figure
    page.add_style_tag(content=".book-grid { grid-template-columns: 1fr !important; }")
    before = page.evaluate("document.scrollingElement.scrollHeight")

    assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"]
    assert after < 0.6 * before, (before, after)
    print(f"home page at 375 px: {before} px with one book a row, {after} px with two")


def test_escape_closes_the_more_menu_and_returns_to_its_button(sized, shop):
    page = sized(375)
    page.goto("/")
    more = page.get_by_test_id("category-more")
    summary = more.locator("summary")

    summary.focus()
    page.keyboard.press("Enter")
    expect(more).to_have_attribute("open", "")
    page.keyboard.press("Tab")  # into the menu's first link
    page.keyboard.press("Escape")

    expect(more).not_to_have_attribute("open", "")
    assert summary.evaluate("node => node === document.activeElement")
