"""The orders export names every customer (email, name, city, country) and the audit log
export quotes what staff did to them: the customer list's rule applies to both. Orders: admins,
and staff an admin allowed to export the customer list; the audit log: admins. Every download
is audited with who, when, the filters and the row count. The dashboard and demand exports
hold only aggregates (per chart, per book) and stay open to all staff."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import AuditEntry
from tests.factories import (
    make_admin,
    make_book,
    make_demand,
    make_member,
    make_placed_order,
    make_staff,
)
from tests.pages import logged_in_client


@pytest.fixture
def shop(app) -> dict[str, int]:
    with app.app_context():
        boss = make_admin(email="boss@example.test")
        clerk = make_staff(email="clerk@example.test")
        trusted = make_staff(email="trusted@example.test", may_export_customers=True)
        ada = make_member(email="ada@example.test", name="Ada Reader")
        bob = make_member(email="bob@example.test", name="Bob Reader")
        book = make_book(stock_on_hand=0)
        make_placed_order(ada, ship_city="Lovelace Town")
        make_placed_order(ada)
        make_placed_order(bob)
        make_demand(member=bob, book=book)
        db.session.commit()
        return {"boss": boss.id, "clerk": clerk.id, "trusted": trusted.id}


def _entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.id)))


def _lines(response) -> list[str]:
    text = response.get_data(as_text=True)
    response.close()  # as a server does: the stream's request ends here
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return text.lstrip("\ufeff").splitlines()


def test_staff_without_the_export_permission_get_no_orders_file_and_no_link(app, shop):
    clerk = logged_in_client(app, "clerk@example.test")

    response = clerk.get("/admin/orders.csv")
    text = response.get_data(as_text=True)
    response.close()

    assert response.status_code == 403
    assert "ada@example.test" not in text
    assert 'data-testid="orders-csv"' not in clerk.get("/admin/orders").get_data(as_text=True)
    assert _entries(app, "order.list_export") == []


def test_staff_allowed_to_export_download_the_orders_and_the_download_is_audited(app, shop):
    trusted = logged_in_client(app, "trusted@example.test")
    assert 'data-testid="orders-csv"' in trusted.get("/admin/orders").get_data(as_text=True)

    lines = _lines(trusted.get("/admin/orders.csv?q=ada@example.test&status=placed"))

    assert len(lines) == 3 and all("ada@example.test" in line for line in lines[1:])
    (export,) = _entries(app, "order.list_export")
    assert (export.actor_id, export.actor_label) == (shop["trusted"], "trusted@example.test")
    assert export.after == {"filters": {"q": "ada@example.test", "status": "placed"},
                            "rows": 2}
    assert export.at is not None and export.target_type == "order_list"


def test_an_admin_downloads_the_orders_and_is_audited_too(app, shop):
    boss = logged_in_client(app, "boss@example.test")

    assert len(_lines(boss.get("/admin/orders.csv"))) == 4

    (export,) = _entries(app, "order.list_export")
    assert export.actor_id == shop["boss"] and export.after == {"filters": {}, "rows": 3}


def test_refused_export_filters_are_not_audited(app, shop):
    boss = logged_in_client(app, "boss@example.test")

    assert boss.get("/admin/orders.csv?date_from=nope").status_code == 400

    assert _entries(app, "order.list_export") == []


def test_every_audit_log_download_is_audited_with_its_filters_and_row_count(app, shop):
    boss = logged_in_client(app, "boss@example.test")
    boss.get("/admin/orders.csv")
    boss.get("/admin/orders.csv?q=bob")

    lines = _lines(boss.get("/admin/audit.csv?action=order.list_export"))

    (export,) = _entries(app, "audit.export")
    assert export.actor_id == shop["boss"]
    assert export.after == {"filters": {"action": "order.list_export"}, "rows": 2}
    assert len(lines) == 3
    assert logged_in_client(app, "trusted@example.test").get("/admin/audit.csv").status_code == 403


def test_the_aggregate_exports_stay_open_to_staff_and_name_no_customer(app, shop):
    clerk = logged_in_client(app, "clerk@example.test")

    for path in ("/admin/demand.csv", "/admin/dashboard/figures.csv",
                 "/admin/dashboard/sellers.csv"):
        text = "\n".join(_lines(clerk.get(path)))
        for personal in ("ada@example.test", "bob@example.test", "Reader", "Lovelace"):
            assert personal not in text, (path, personal)
