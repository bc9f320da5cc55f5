"""The staff area's own layout (issue 22): full width under a slim header of its own (no cart,
no category bar), every table in a named box a keyboard can scroll, phone numbers and
percentages that do not wrap, styled tags, one highlighted sidebar entry, charts whose text is
11 px or more, and NPS, cohort retention and RFM segment charts with their numbers as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from app.analytics import satisfaction, snapshots
from app.core import charts
from app.core.extensions import db
from app.models import MemberTag, OrderStatus, SurveyResponse, Tag
from tests.factories import make_admin, make_book, make_member, make_placed_order
from tests.pages import log_in

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "site.css"


@pytest.fixture
def shop(app):
    """A clerk, six buyers with some history, NPS answers over three months, a tag and a phone."""
    with app.app_context():
        make_admin(email="clerk@example.test", name="Clara Clerk")
        make_book(title="Dune")
        now = datetime.now(UTC)
        buyers = []
        for i in range(6):
            member = make_member(name=f"Reader {i}", phone="+86 138 0013 8000",
                                 joined_at=now - timedelta(days=400))
            buyers.append(member)
            for k in range(i + 1):
                order = make_placed_order(member, status=OrderStatus.DELIVERED,
                                          placed_at=now - timedelta(days=20 + 40 * k + 7 * i),
                                          total=Decimal(f"{30 + 10 * i}.00"))
                if k < 3:
                    when = now - timedelta(days=20 + 40 * k)
                    db.session.add(SurveyResponse(member_id=member.id, order_id=order.id,
                                                  score=(10, 3, 8)[(i + k) % 3],
                                                  created_at=when, updated_at=when))
        tag = Tag(name="book club", key="book club")
        db.session.add(tag)
        db.session.flush()
        db.session.add(MemberTag(member_id=buyers[0].id, tag_id=tag.id))
        db.session.commit()
        snapshots.recompute()
        satisfaction.compute_all()
        db.session.commit()
        return {"member_id": buyers[0].id}


@pytest.fixture
def as_clerk(client, shop):
    return log_in(client, "clerk@example.test")


MAIN_PAGES = ["/admin/", "/admin/customers", "/admin/orders", "/admin/analytics",
              "/admin/analytics/migration", "/admin/satisfaction", "/admin/forecast",
              "/admin/reviews", "/admin/mail/", "/admin/demand", "/admin/tiers",
              "/admin/books", "/admin/audit", "/admin/follow-ups"]


def _soup(client, path: str) -> BeautifulSoup:
    response = client.get(path)
    assert response.status_code == 200, path
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_the_admin_has_a_slim_header_of_its_own_without_cart_or_categories(as_clerk):
    soup = _soup(as_clerk, "/admin/customers")

    header = soup.select_one("[data-testid=admin-header]")
    assert header is not None
    assert header.select_one("[data-testid=admin-staff-name]").get_text() == "Clara Clerk"
    assert header.select_one("[data-testid=language-switch] a[hreflang=zh-Hans]") is not None
    assert header.find("button", string=re.compile("Log out")) is not None
    assert soup.select_one(".cart-link, [data-testid=cart-count]") is None
    assert soup.select_one("nav.category-nav") is None
    assert soup.select_one("main.admin-wrap .admin-layout .admin-main h1") is not None


@pytest.mark.parametrize("path", MAIN_PAGES)
def test_every_admin_table_scrolls_inside_a_named_focusable_region(as_clerk, shop, path):
    soup = _soup(as_clerk, path)
    if path == "/admin/customers":
        assert soup.select("table.data")  # the check below is not vacuous

    for table in soup.select("table"):
        box = table.parent
        assert box.name == "div" and "table-scroll" in box.get("class", []), path
        assert box.get("role") == "region" and box.get("tabindex") == "0"
        assert box.get("aria-label"), path


@pytest.mark.parametrize("path", MAIN_PAGES + ["/admin/analytics/segments/champions"])
def test_exactly_one_sidebar_entry_is_highlighted(as_clerk, path):
    soup = _soup(as_clerk, path)

    assert len(soup.select(".admin-nav a[aria-current]")) == 1, path


def test_the_highlighted_entry_is_the_longest_matching_address(as_clerk, shop):
    def current(path):
        (link,) = _soup(as_clerk, path).select(".admin-nav a[aria-current]")
        return link["href"], link["aria-current"]

    assert current("/admin/forecast") == ("/admin/forecast", "page")
    assert current("/admin/satisfaction") == ("/admin/satisfaction", "page")
    assert current(f"/admin/customers/{shop['member_id']}") == ("/admin/customers", "true")
    assert current("/admin/follow-ups") == ("/admin/customers", "true")
    assert current("/admin/") == ("/admin/", "page")


def test_phone_numbers_percentages_and_tags_are_styled_not_to_wrap(as_clerk, shop):
    css = CSS.read_text()
    listing = _soup(as_clerk, "/admin/customers")
    record = _soup(as_clerk, f"/admin/customers/{shop['member_id']}")

    assert "+86 138 0013 8000" in [td.get_text() for td in listing.select("td.tel")]
    assert record.select_one("dd.tel").get_text() == "+86 138 0013 8000"
    assert re.search(r"td\.tel[^{]*\{[^}]*white-space: nowrap", css)
    assert re.search(r"table\.data td\.num[^{]*\{[^}]*white-space: nowrap", css)
    assert listing.select_one("span.tag").get_text() == "book club"
    assert re.search(r"\n\.tag \{[^}]*border-radius: 999px", css)


def test_chart_text_is_never_drawn_below_11_px():
    svg = str(charts.line_chart("c", "NPS", [("2026-01", 10), ("2026-02", None), ("2026-03", -5)],
                                value_label="NPS", category_label="Month", description="d",
                                low=-100, high=100))
    css = CSS.read_text()

    min_width = int(re.search(r"svg\.chart \{[^}]*min-width: (\d+)px", css).group(1))
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', svg)]
    assert min_width == charts.MIN_WIDTH_PX
    assert min(sizes) * min_width / width >= 11
    assert svg.count("<circle") == 2  # the month without answers is a gap, not a zero


def test_the_satisfaction_page_charts_nps_and_cohort_retention_with_csv(as_clerk):
    soup = _soup(as_clerk, "/admin/satisfaction")

    nps = soup.select_one("[data-testid=chart-nps]")
    retention = soup.select_one("[data-testid=chart-retention]")
    assert nps.select_one("svg[role=img] title").get_text() == "NPS by month"
    assert retention.select("svg circle")
    nps_rows = list(csv.reader(io.StringIO(
        as_clerk.get(nps.select_one("a[download]")["href"]).get_data(as_text=True).lstrip("\ufeff"))))
    cohort_rows = list(csv.reader(io.StringIO(
        as_clerk.get(retention.select_one("a[download]")["href"]).get_data(
            as_text=True).lstrip("\ufeff"))))
    assert nps_rows[0] == ["month", "answers", "promoters", "passives", "detractors", "nps"]
    assert sum(int(r[1]) for r in nps_rows[1:]) == 3 + 3 + 3 + 3 + 2 + 1
    assert cohort_rows[0][:3] == ["first_order_month", "members", "m+0_percent"]
    assert cohort_rows[-1][0] == "all_cohorts_weighted" and cohort_rows[-1][2] == "100.0"
    assert as_clerk.get("/admin/satisfaction/other.csv").status_code == 404


def test_the_analytics_page_charts_rfm_segments_with_csv(as_clerk):
    soup = _soup(as_clerk, "/admin/analytics")

    figure = soup.select_one("[data-testid=chart-segments]")
    bars = figure.select("svg rect title")
    rows = list(csv.reader(io.StringIO(
        as_clerk.get(figure.select_one("a[download]")["href"]).get_data(as_text=True)
        .lstrip("\ufeff"))))
    assert rows[0][:3] == ["segment", "name", "members"]
    assert sum(int(r[2]) for r in rows[1:]) == 6
    assert len(bars) == len(rows) - 1
