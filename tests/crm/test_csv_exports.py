"""Every admin CSV export writes numbers as numbers a spreadsheet can sum (negative ones
included), phone numbers as text, and neutralises text that would run as a formula."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from app.core.db import utcnow
from app.core.extensions import db
from app.crm import customers
from app.models import OrderStatus
from tests.factories import (
    make_admin,
    make_book,
    make_demand,
    make_member,
    make_placed_order,
)
from tests.pages import post_login

NEUTRALISED_NUMBER = re.compile(r"'[+-]?(\d+(\.\d*)?|\.\d+)$")


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _cells(rows: list[list[str]]) -> list[str]:
    return [cell for row in rows for cell in row]


@pytest.fixture
def shop(app, client) -> dict:
    with app.app_context():
        make_admin(email="boss@example.test")
        rita = make_member(email="rita@example.test", name="=HYPERLINK(\"http://evil\")",
                           phone="+86 138 0013 8000")
        book = make_book(title="@SUM(A1)", price=Decimal("12.50"), stock_on_hand=1)
        # Paid ten days ago, nothing since: this week's revenue is down 100 % on last week's.
        make_placed_order(rita, lines=[(book, 1)], status=OrderStatus.PAID,
                          placed_at=utcnow() - timedelta(days=10),
                          paid_at=utcnow() - timedelta(days=10))
        make_demand(member=rita, book=book)
        customers.refresh_all_order_stats()
        db.session.commit()
        rita_id = rita.id
    post_login(client, "boss@example.test")
    return {"client": client, "rita": rita_id}


def test_the_dashboard_figures_keep_a_fall_as_a_negative_number(shop):
    rows = _rows(shop["client"].get("/admin/dashboard/figures.csv"))

    header = rows[0]
    week = next(r for r in rows[1:] if r[0] == "7d" and r[2] == "revenue")
    change = week[header.index("change_percent")]
    assert change.startswith("-") and Decimal(change) == -100
    assert not [c for c in _cells(rows) if NEUTRALISED_NUMBER.match(c)]


def test_the_customer_list_writes_phones_as_neutralised_text_and_spend_as_a_number(shop):
    rows = _rows(shop["client"].get("/admin/customers.csv"))

    header, rita = rows[0], next(r for r in rows[1:] if r[2] == "rita@example.test")
    assert rita[header.index("phone")] == "'+86 138 0013 8000"
    assert rita[header.index("lifetime_spend")] == "22.50"
    assert rita[header.index("name")] == "'=HYPERLINK(\"http://evil\")"
    assert not [c for c in _cells(rows) if NEUTRALISED_NUMBER.match(c)]


def test_the_orders_export_writes_amounts_as_numbers_and_neutralises_names(shop):
    rows = _rows(shop["client"].get("/admin/orders.csv"))

    header, order = rows
    assert order[header.index("total")] == "22.50"
    assert order[header.index("customer")].startswith("'=HYPERLINK")
    assert not [c for c in _cells(rows) if NEUTRALISED_NUMBER.match(c)]


def test_the_demand_export_writes_counts_as_numbers_and_neutralises_titles(shop):
    rows = _rows(shop["client"].get("/admin/demand.csv"))

    assert rows[1][1] == "'@SUM(A1)" and rows[1][4] == "0"
    assert not [c for c in _cells(rows) if NEUTRALISED_NUMBER.match(c)]


def test_the_audit_export_writes_ids_as_numbers(shop):
    client = shop["client"]
    client.get(f"/admin/customers/{shop['rita']}/export.json")  # audited

    rows = _rows(client.get("/admin/audit.csv"))

    assert rows[1][0].isdigit()
    assert not [c for c in _cells(rows) if NEUTRALISED_NUMBER.match(c)]


def test_a_members_data_export_writes_the_phone_as_neutralised_text(shop):
    rows = _rows(shop["client"].get(f"/admin/customers/{shop['rita']}/export.csv"))

    assert ["profile", "phone", "'+86 138 0013 8000"] in rows
    assert not [c for c in _cells(rows) if NEUTRALISED_NUMBER.match(c)]
