"""Staff's case pages (issue 20): every case page is for staff only; the queues ("my cases",
"unassigned", "overdue" by due time, all) and filters; bulk assign and close with the CSRF
token; every change audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.models import AuditEntry, Member, OutboxMail
from app.support import cases
from app.support.models import CasePriority, CaseStatus, CaseType, SupportCase
from tests.pages import log_in, logged_in_client, token_in


@pytest.fixture
def case_id(app, people) -> int:
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        case = cases.open_case(subject="Late parcel", body="Where is it?", member=rita,
                               case_type=CaseType.LATE)
        db.session.commit()
        return case.id


def _case_pages(case_id: int) -> list[tuple[str, str, dict]]:
    return [
        ("GET", "/admin/cases", {}),
        ("GET", "/admin/cases?queue=all", {}),
        ("GET", f"/admin/cases/{case_id}", {}),
        ("GET", "/admin/cases/figures.csv", {}),
        ("POST", f"/admin/cases/{case_id}/reply", {"body": "Hello"}),
        ("POST", f"/admin/cases/{case_id}/assign", {"assignee": ""}),
        ("POST", f"/admin/cases/{case_id}/status", {"status": "open"}),
        ("POST", f"/admin/cases/{case_id}/priority", {"priority": "high"}),
        ("POST", "/admin/cases/bulk", {"case_ids": [str(case_id)], "action": "close"}),
        ("GET", "/admin/customers/1/cases/new", {}),
        ("POST", "/admin/customers/1/cases/new", {"case_type": "question", "subject": "Call",
                                                  "body": "Asked about Dune",
                                                  "priority": "normal"}),
    ]


def test_a_visitor_is_sent_to_log_in_from_every_case_page(app, client, case_id):
    for method, path, data in _case_pages(case_id):
        response = client.open(path, method=method, data=data)
        assert response.status_code == 302, path
        assert "/account/login" in response.headers["Location"], path


def test_a_member_is_refused_every_case_page(app, client, people, case_id):
    log_in(client, "rita@example.test")

    for method, path, data in _case_pages(case_id):
        assert client.open(path, method=method, data=data).status_code == 403, path
    with app.app_context():
        case = db.session.get(SupportCase, case_id)
        assert case.status is CaseStatus.NEW and case.priority is CasePriority.NORMAL


def test_staff_may_open_every_case_page(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")

    for method, path, data in _case_pages(case_id):
        assert staff.open(path, method=method, data=data).status_code in (200, 303), path
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 2


def test_the_overdue_queue_holds_the_cases_past_their_due_time(app, people):
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        now = utcnow()
        late = cases.open_case(subject="Old one", body="x", member=rita,
                               now=now - timedelta(hours=25))  # normal: 24 hours
        fresh = cases.open_case(subject="New one", body="x", member=rita,
                                now=now - timedelta(hours=23))
        waiting = cases.open_case(subject="Waiting one", body="x", member=rita,
                                  now=now - timedelta(hours=30))
        waiting.status = CaseStatus.WAITING  # the clock is the customer's
        urgent = cases.open_case(subject="Urgent one", body="x", member=rita,
                                 priority=CasePriority.URGENT, now=now - timedelta(hours=3))
        db.session.commit()
        ids = {"late": late.id, "fresh": fresh.id, "waiting": waiting.id, "urgent": urgent.id}
    staff = logged_in_client(app, "sam@example.test")

    page = staff.get("/admin/cases?queue=overdue").get_data(as_text=True)

    assert f'data-testid="case-{ids["late"]}"' in page
    assert f'data-testid="case-{ids["urgent"]}"' in page
    assert f'data-testid="case-{ids["fresh"]}"' not in page
    assert f'data-testid="case-{ids["waiting"]}"' not in page
    assert "Overdue (2)" in page


def test_my_cases_and_unassigned_follow_the_assignee(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")
    row = f'data-testid="case-{case_id}"'
    assert row in staff.get("/admin/cases?queue=unassigned").get_data(as_text=True)
    assert row not in staff.get("/admin/cases").get_data(as_text=True)  # mine by default

    staff.post(f"/admin/cases/{case_id}/assign", data={"assignee": str(people["sam"])})

    assert row in staff.get("/admin/cases?queue=mine").get_data(as_text=True)
    assert row not in staff.get("/admin/cases?queue=unassigned").get_data(as_text=True)


def test_filters_narrow_the_list_and_nonsense_is_ignored(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")
    row = f'data-testid="case-{case_id}"'

    assert row in staff.get("/admin/cases?queue=all&case_type=late").get_data(as_text=True)
    assert row not in staff.get("/admin/cases?queue=all&case_type=damaged").get_data(
        as_text=True)
    assert row not in staff.get("/admin/cases?queue=all&priority=urgent").get_data(as_text=True)
    for nonsense in ("queue=%00", "status=zzz", "assignee=abc", "page=-1", "page=x"):
        assert staff.get(f"/admin/cases?{nonsense}").status_code in (200, 404)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_bulk_assign_and_close_need_the_csrf_token_and_are_audited(app, people, case_id):
    with app.app_context():
        rita = db.session.get(Member, people["rita"])
        other = cases.open_case(subject="Another", body="x", member=rita)
        db.session.commit()
        ids = [str(case_id), str(other.id)]
    staff = logged_in_client(app, "sam@example.test")

    refused = staff.post("/admin/cases/bulk", data={"case_ids": ids, "action": "close"})
    assert refused.status_code == 400
    token = token_in(staff.get("/admin/cases?queue=all").get_data(as_text=True))
    assigned = staff.post("/admin/cases/bulk", data={
        "csrf_token": token, "case_ids": ids, "action": "assign",
        "assignee": str(people["tom"])})
    closed = staff.post("/admin/cases/bulk", data={
        "csrf_token": token, "case_ids": ids, "action": "close", "assignee": ""})

    assert assigned.status_code == 303 and closed.status_code == 303
    with app.app_context():
        rows = db.session.scalars(sa.select(SupportCase).order_by(SupportCase.id)).all()
        assert [(c.assignee_id, c.status) for c in rows] == [(people["tom"], CaseStatus.CLOSED)] * 2
        actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["case.assign", "case.assign", "case.close", "case.close"]


def test_close_clicked_twice_closes_once_and_says_so(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")
    token = token_in(staff.get(f"/admin/cases/{case_id}").get_data(as_text=True))

    first = staff.post(f"/admin/cases/{case_id}/status",
                       data={"csrf_token": token, "status": "closed"})
    second = staff.post(f"/admin/cases/{case_id}/status",
                        data={"csrf_token": token, "status": "closed"})

    assert first.status_code == 303 and second.status_code == 303
    page = staff.get(second.headers["Location"]).get_data(as_text=True)
    assert "This case is already closed." in page
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
        assert actions == ["case.close"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                                 .where(OutboxMail.kind == "case_csat")) == 1


@pytest.mark.parametrize("bad", ["99999999999999999999", "2147483648", "0", "-1", "abc",
                                 "\u0663", ""])
def test_bulk_with_an_impossible_case_id_changes_nothing_and_says_so(app, people, case_id,
                                                                     bad):
    staff = logged_in_client(app, "sam@example.test")
    token = token_in(staff.get("/admin/cases?queue=all").get_data(as_text=True))

    response = staff.post("/admin/cases/bulk", data={
        "csrf_token": token, "case_ids": [str(case_id), bad], "action": "close",
        "assignee": ""})

    assert response.status_code == 303
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Those cases could not be found. Please choose them again." in page
    with app.app_context():
        assert db.session.get(SupportCase, case_id).status is CaseStatus.NEW
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_staff_are_offered_only_the_steps_a_case_may_take(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")
    token = token_in(staff.get(f"/admin/cases/{case_id}").get_data(as_text=True))
    with app.app_context():
        cases.change_status(db.session.get(SupportCase, case_id),
                            db.session.get(Member, people["sam"]), CaseStatus.RESOLVED)
        db.session.commit()

    page = staff.get(f"/admin/cases/{case_id}").get_data(as_text=True)
    back_to_new = staff.post(f"/admin/cases/{case_id}/status",
                             data={"csrf_token": token, "status": "new"})

    assert 'value="new"' not in page and 'value="open"' in page
    assert back_to_new.status_code == 303
    flashed = staff.get(back_to_new.headers["Location"]).get_data(as_text=True)
    assert "A case cannot go from “Resolved” to “New”." in flashed
    with app.app_context():
        assert db.session.get(SupportCase, case_id).status is CaseStatus.RESOLVED


def test_a_closed_case_can_be_reopened_from_its_page(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")
    token = token_in(staff.get(f"/admin/cases/{case_id}").get_data(as_text=True))
    staff.post(f"/admin/cases/{case_id}/status", data={"csrf_token": token, "status": "closed"})

    page = staff.get(f"/admin/cases/{case_id}").get_data(as_text=True)
    reopened = staff.post(f"/admin/cases/{case_id}/status",
                          data={"csrf_token": token, "status": "open"})

    assert 'data-testid="reopen-form"' in page and reopened.status_code == 303
    with app.app_context():
        assert db.session.get(SupportCase, case_id).status is CaseStatus.OPEN


def test_a_staff_reply_sent_twice_is_sent_once(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")
    page = staff.get(f"/admin/cases/{case_id}").get_data(as_text=True)
    key = re.search(r'name="form_key" type="hidden" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token_in(page), "body": "A new copy is on its way.", "form_key": key}

    first = staff.post(f"/admin/cases/{case_id}/reply", data=form)
    second = staff.post(f"/admin/cases/{case_id}/reply", data=form)  # a double click

    assert first.status_code == second.status_code == 303
    with app.app_context():
        case = db.session.get(SupportCase, case_id)
        assert [m.body for m in cases.thread(case)] == ["Where is it?",
                                                        "A new copy is on its way."]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                                 .where(OutboxMail.kind == "case_reply")) == 1
        assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["case.reply"]
    again = staff.get(f"/admin/cases/{case_id}").get_data(as_text=True)
    assert key not in again  # the next reply gets a key of its own


def test_a_reply_refused_keeps_what_was_typed(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")

    response = staff.post(f"/admin/cases/{case_id}/reply", data={"body": "x" * 6000})

    assert response.status_code == 400
    assert "x" * 6000 in response.get_data(as_text=True)


def test_the_figures_download_names_each_figure(app, people, case_id):
    staff = logged_in_client(app, "sam@example.test")
    staff.post(f"/admin/cases/{case_id}/reply", data={"body": "On its way"})

    csv = staff.get("/admin/cases/figures.csv").get_data(as_text=True)

    assert "Open cases,1" in csv and "Overdue cases,0" in csv
    assert "Median first response time" in csv and "Median resolution time" in csv


def test_staff_open_a_case_for_a_customer_about_their_order(app, people):
    staff = logged_in_client(app, "sam@example.test")
    path = f"/admin/customers/{people['rita']}/cases/new"
    assert "Open a case for this customer" in staff.get(
        f"/admin/customers/{people['rita']}").get_data(as_text=True)

    refused = staff.post(path, data={"case_type": "late", "priority": "high", "subject": "",
                                     "body": "Called: parcel is late"})
    response = staff.post(path, data={"case_type": "late", "priority": "high",
                                      "subject": "Parcel late", "order_id": str(people["order"]),
                                      "body": "Called: parcel is late"})

    assert refused.status_code == 400 and "Called: parcel is late" in refused.get_data(
        as_text=True)
    assert response.status_code == 303
    with app.app_context():
        case = db.session.scalars(sa.select(SupportCase)).one()
        assert (case.source.value, case.order_id, case.priority) == (
            "staff", people["order"], CasePriority.HIGH)
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "case.open"))
        assert entry.actor_id == people["sam"] and entry.target_id == case.id
