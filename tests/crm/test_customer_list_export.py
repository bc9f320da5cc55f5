"""The whole customer list (emails, phones, addresses) is downloaded only by admins and by
staff an admin allowed, on the staff member's record; every download is audited with who,
when, the filters and the row count, and so is every grant and revocation."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import AuditEntry, Member
from tests.factories import make_admin, make_member, make_staff
from tests.pages import logged_in_client


@pytest.fixture
def people(app) -> dict[str, int]:
    with app.app_context():
        boss = make_admin(email="boss@example.test")
        clerk = make_staff(email="clerk@example.test", name="Clara Clerk")
        for n in range(3):
            make_member(email=f"reader{n}@example.test", name=f"Reader {n}",
                        phone="+86 138 0013 800{n}")
        db.session.commit()
        return {"boss": boss.id, "clerk": clerk.id}


def _entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.id)))


def test_staff_without_the_permission_get_403_no_file_and_no_link(app, people):
    clerk = logged_in_client(app, "clerk@example.test")

    assert clerk.get("/admin/customers.csv").status_code == 403
    assert 'data-testid="customers-csv"' not in clerk.get("/admin/customers").get_data(
        as_text=True)
    assert _entries(app, "customer.list_export") == []


def test_an_admin_grants_the_permission_and_the_staff_download_is_audited(app, people):
    boss = logged_in_client(app, "boss@example.test")
    clerk = logged_in_client(app, "clerk@example.test")
    record = boss.get(f"/admin/customers/{people['clerk']}").get_data(as_text=True)
    assert 'data-testid="export-permission"' in record and "Allow it" in record

    response = boss.post(f"/admin/customers/{people['clerk']}/export-permission",
                         data={"allowed": "1"})
    assert response.status_code == 302
    (grant,) = _entries(app, "customer.export_permission")
    assert (grant.actor_id, grant.target_id) == (people["boss"], people["clerk"])
    assert grant.after == {"may_export_customers": True}

    assert 'data-testid="customers-csv"' in clerk.get("/admin/customers").get_data(
        as_text=True)
    download = clerk.get("/admin/customers.csv?q=reader&sort=name")

    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[1] for r in rows[1:]] == ["Reader 0", "Reader 1", "Reader 2"]
    (export,) = _entries(app, "customer.list_export")
    assert export.actor_id == people["clerk"] and export.actor_label == "clerk@example.test"
    assert export.after == {"filters": {"q": "reader", "sort": "name"}, "rows": 3}
    assert export.at is not None


def test_a_revoked_permission_refuses_the_next_download(app, people):
    boss = logged_in_client(app, "boss@example.test")
    clerk = logged_in_client(app, "clerk@example.test")
    boss.post(f"/admin/customers/{people['clerk']}/export-permission", data={"allowed": "1"})
    assert clerk.get("/admin/customers.csv").status_code == 200

    boss.post(f"/admin/customers/{people['clerk']}/export-permission", data={"allowed": "0"})

    assert clerk.get("/admin/customers.csv").status_code == 403
    revoke = _entries(app, "customer.export_permission")[-1]
    assert revoke.after == {"may_export_customers": False}
    assert len(_entries(app, "customer.list_export")) == 1


def test_an_admin_downloads_without_a_grant_and_is_audited_too(app, people):
    boss = logged_in_client(app, "boss@example.test")

    assert boss.get("/admin/customers.csv").status_code == 200

    (export,) = _entries(app, "customer.list_export")
    assert export.actor_id == people["boss"] and export.after["rows"] >= 3


def test_staff_cannot_grant_themselves_the_permission(app, people):
    clerk = logged_in_client(app, "clerk@example.test")

    response = clerk.post(f"/admin/customers/{people['clerk']}/export-permission",
                          data={"allowed": "1"})

    assert response.status_code == 403
    with app.app_context():
        assert not db.session.get(Member, people["clerk"]).may_export_customers


def test_only_a_member_of_staff_can_be_granted_the_permission(app, people):
    boss = logged_in_client(app, "boss@example.test")
    with app.app_context():
        reader = db.session.scalar(sa.select(Member.id).where(Member.name == "Reader 0"))

    response = boss.post(f"/admin/customers/{reader}/export-permission",
                         data={"allowed": "1"}, follow_redirects=True)

    assert "Only a member of staff can be allowed" in response.get_data(as_text=True)
    assert _entries(app, "customer.export_permission") == []
    assert boss.post(f"/admin/customers/{reader}/export-permission",
                     data={"allowed": "maybe"}).status_code == 400


@pytest.mark.parametrize("roles", [("member", "staff"), ("admin", "staff")])
def test_a_role_change_ends_the_permission_so_staff_again_do_not_regain_it(app, people,
                                                                            roles):
    boss = logged_in_client(app, "boss@example.test")
    boss.post(f"/admin/customers/{people['clerk']}/export-permission", data={"allowed": "1"})

    for role in roles:
        assert boss.post(f"/admin/customers/{people['clerk']}/role",
                         data={"role": role}).status_code == 302

    with app.app_context():
        assert db.session.get(Member, people["clerk"]).may_export_customers is False
    clerk = logged_in_client(app, "clerk@example.test")
    assert clerk.get("/admin/customers.csv").status_code == 403
    assert clerk.get("/admin/orders.csv").status_code == 403
    first = _entries(app, "customer.role")[0]
    assert first.before == {"role": "staff", "may_export_customers": True}
    assert first.after == {"role": roles[0], "may_export_customers": False}
    assert _entries(app, "customer.role")[1].after == {"role": "staff"}
