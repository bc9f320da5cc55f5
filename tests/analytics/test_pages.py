"""The analysis pages: staff read the snapshot, only an admin recomputes (POST with CSRF), the
command fills the snapshot. Anonymous visitors and members are refused by the URL-map walk in
tests/admin/test_admin_access.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.analytics import snapshots
from app.core.extensions import db
from app.models import AnalyticsRun, AuditEntry, Member, OrderStatus
from tests.factories import (
    make_admin,
    make_member,
    make_placed_order,
    make_staff,
)
from tests.helpers import counting_statements
from tests.pages import csrf_token as _csrf_token
from tests.pages import log_in as _login

PAGES = ["/admin/analytics", "/admin/analytics/migration",
         "/admin/analytics/segments/champions", "/admin/analytics/segments/prospect"]


@pytest.fixture
def shop(app):
    with app.app_context():
        make_admin(email="boss@example.test")
        make_staff(email="clerk@example.test")
        now = datetime.now(UTC)
        for i in range(6):
            member = make_member(name=f"Reader {i}", joined_at=now - timedelta(days=400))
            for k in range(i + 1):
                make_placed_order(member, status=OrderStatus.DELIVERED,
                                  placed_at=now - timedelta(days=20 + 40 * k + 7 * i),
                                  total=Decimal(f"{30 + 10 * i}.00"))
        make_member(name="Window Shopper")
        db.session.commit()


def _recompute(app) -> None:
    with app.app_context():
        snapshots.recompute()
        db.session.commit()


@pytest.fixture
def as_staff(client, shop):
    return _login(client, "clerk@example.test")


@pytest.fixture
def as_admin(client, shop):
    return _login(client, "boss@example.test")


@pytest.mark.parametrize("path", PAGES)
def test_staff_see_a_page_asking_for_a_snapshot_before_the_first_one(as_staff, path):
    response = as_staff.get(path)

    assert response.status_code == 200
    assert "No snapshot yet" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_staff_read_the_snapshot_without_a_recompute_button(app, as_staff, path):
    _recompute(app)

    page = as_staff.get(path).get_data(as_text=True)

    assert "Snapshot of" in page
    assert "Recompute now" not in page


def test_the_overview_shows_segments_equity_and_links_to_customers(app, as_staff):
    _recompute(app)

    page = as_staff.get("/admin/analytics").get_data(as_text=True)

    assert 'data-testid="segment-table"' in page and "No purchase yet" in page
    assert 'data-testid="tier-table"' in page
    segment_page = as_staff.get("/admin/analytics/segments/prospect").get_data(as_text=True)
    assert "Window Shopper" in segment_page
    assert re.search(r'href="/admin/(customers|members)/\d+', segment_page)


def test_an_unknown_segment_is_not_found(as_staff):
    assert as_staff.get("/admin/analytics/segments/x").status_code == 404


def test_staff_may_not_recompute(app, as_staff):
    assert as_staff.post("/admin/analytics/recompute").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AnalyticsRun)) == 0


def test_an_admin_recomputes_a_small_shop_at_once_and_it_is_audited(app, as_admin):
    response = as_admin.post("/admin/analytics/recompute")

    assert response.status_code == 302
    with app.app_context():
        run = db.session.scalar(sa.select(AnalyticsRun))
        assert run.status == "done" and run.members == 7
        assert db.session.scalar(sa.select(AuditEntry.action)) == "analytics.recompute"
    assert "Recompute now" in as_admin.get("/admin/analytics").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"ANALYTICS_INLINE_MAX_MEMBERS": 2}])
def test_a_large_shop_queues_the_recompute_for_the_command(app, as_admin):
    assert as_admin.post("/admin/analytics/recompute").status_code == 302
    assert as_admin.post("/admin/analytics/recompute").status_code == 302  # one queued at once

    with app.app_context():
        runs = db.session.scalars(sa.select(AnalyticsRun)).all()
        assert [run.status for run in runs] == ["queued"]
    assert "waiting or running" in as_admin.get("/admin/analytics").get_data(as_text=True)

    result = app.test_cli_runner().invoke(args=["analytics", "recompute", "--queued"])

    assert result.exit_code == 0, result.output
    assert "7 members" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(AnalyticsRun.status)) == "done"


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_recompute_needs_its_csrf_token(app, as_admin):
    assert as_admin.post("/admin/analytics/recompute").status_code == 400
    token = _csrf_token(as_admin, "/admin/analytics")
    assert as_admin.post("/admin/analytics/recompute",
                         data={"csrf_token": token}).status_code == 302


def test_the_command_writes_a_snapshot(app, shop):
    result = app.test_cli_runner().invoke(args=["analytics", "recompute"])

    assert result.exit_code == 0, result.output
    assert re.search(r"Analytics snapshot \d+: 7 members, 6 buyers", result.output)
    result = app.test_cli_runner().invoke(args=["analytics", "recompute", "--queued"])
    assert "No recompute queued." in result.output


@pytest.mark.parametrize("path", PAGES)
def test_a_page_runs_a_fixed_small_number_of_queries(app, as_staff, path):
    _recompute(app)
    as_staff.get(path)
    with counting_statements(app) as statements:
        assert as_staff.get(path).status_code == 200
    assert len(statements) <= 12


def test_pages_of_a_shop_without_buyers_say_so(app, client):
    with app.app_context():
        make_staff(email="early@example.test")
        make_member(name="Only Browsing")
        snapshots.recompute()
        db.session.commit()
    _login(client, "early@example.test")

    overview = client.get("/admin/analytics").get_data(as_text=True)
    empty = client.get("/admin/analytics/segments/champions").get_data(as_text=True)
    migration = client.get("/admin/analytics/migration")

    assert "Too few buyers to fit the lifetime-value model yet" in overview
    assert "Nobody valuable is slipping away right now." in overview
    assert "Nobody is in this segment right now." in empty
    assert migration.status_code == 200


def test_a_one_time_buyer_is_shown_as_not_enough_history_and_averages_are_defined(
        app, as_staff):
    _recompute(app)
    with app.app_context():
        once = db.session.scalar(sa.select(Member.id).where(Member.name == "Reader 0"))

    record = as_staff.get(f"/admin/customers/{once}").get_data(as_text=True)
    overview = as_staff.get("/admin/analytics").get_data(as_text=True)

    assert re.search(r'data-testid="p-alive">One purchase — not enough history<', record)
    definitions = re.search(r'data-testid="average-definitions">([^<]*)<', overview).group(1)
    assert "Avg. chance still active: the mean" in definitions
    assert "one-time buyers have no such probability" in definitions
    assert 'data-testid="at-risk-rule"' in overview
