"""The shop's pages pass their own Content-Security-Policy in real Chromium (issue 17, item 6):
no inline script or style, no image or stylesheet from elsewhere, so the browser blocks
nothing on the main pages of a visitor, a member and the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_admin, make_book, make_category, make_member

# Every violation the page reports, from its first script on (Playwright's init scripts run
# outside the page's policy).
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@pytest.fixture
def shop(live_app) -> dict:
    with live_app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        book = make_book(title="The Dispossessed", authors="Ursula K. Le Guin",
                         price=Decimal("52.00"), stock_on_hand=3, category=fiction,
                         sold_count=4)
        make_book(title="Uncategorised pamphlet", category=None)
        make_member(email="reader@example.test", name="Shevek Reader")
        make_admin(email="boss@example.test", name="Boss")
        db.session.commit()
        return {"book": book.id}


@pytest.fixture
def watched(page):
    """The page, and the CSP violations and console errors it reports."""
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if message.type in ("error", "warning") else None)
    return page, console


def _visit(page, console, path: str) -> list[str]:
    response = page.goto(path)
    assert response is not None and response.status < 500, path
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__violations")
    refused = [text for text in console if "Content Security Policy" in text]
    return violations + refused


def _log_in(page, email: str) -> None:
    page.goto("/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")


VISITOR_PAGES = ["/", "/category/fiction", "/search?q=dispossessed", "/book/{book}",
                 "/cart", "/account/login", "/account/register", "/account/forgot",
                 "/demand/request", "/no-such-page"]
MEMBER_PAGES = ["/book/{book}", "/account/", "/account/profile", "/account/grade",
                "/orders", "/demand/", "/demand/preferences", "/cart", "/checkout"]
ADMIN_PAGES = ["/admin/", "/admin/books", "/admin/books/new", "/admin/books/{book}/edit",
               "/admin/categories", "/admin/customers", "/admin/orders", "/admin/tiers",
               "/admin/campaigns", "/admin/campaigns/new", "/admin/analytics", "/admin/demand",
               "/admin/mail/", "/admin/audit", "/admin/stock/receipts", "/admin/reviews",
               "/admin/satisfaction", "/admin/forecast"]


def test_the_visitors_pages_break_no_rule_of_the_policy(watched, shop):
    page, console = watched
    for path in VISITOR_PAGES:
        assert _visit(page, console, path.format(**shop)) == [], path


def test_a_members_pages_break_no_rule_of_the_policy(watched, shop):
    page, console = watched
    _log_in(page, "reader@example.test")
    page.goto(f"/book/{shop['book']}")
    page.get_by_role("button", name="Add to cart").click()  # the checkout page needs a cart
    page.wait_for_load_state("load")

    for path in MEMBER_PAGES:
        assert _visit(page, console, path.format(**shop)) == [], path


def test_the_admin_pages_break_no_rule_of_the_policy(watched, shop):
    page, console = watched
    _log_in(page, "boss@example.test")

    for path in ADMIN_PAGES:
        assert _visit(page, console, path.format(**shop)) == [], path


def test_an_inline_style_is_blocked_and_reported(watched, shop):
    """The check above can fail: the browser enforces the policy and the listener hears it."""
    page, console = watched
    page.goto("/")
    page.evaluate("document.body.setAttribute('style', 'background: red')")
    page.evaluate("() => new Promise((done) => setTimeout(done, 100))")

    violations = page.evaluate("window.__violations")
    assert any(v.startswith("style-src") for v in violations), violations
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
