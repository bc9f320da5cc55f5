"""The audit log (issue 4): every change made in the admin panel is recorded (who, when, what,
before and after), and admins, only admins, browse, filter and export it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.audit import query as audit_query
from app.core.audit import record as audit
from app.core.extensions import db
from app.models import AuditEntry, Member
from tests.factories import (
    make_admin,
    make_book,
    make_category,
    make_member,
    make_staff,
)
from tests.pages import log_in


@pytest.fixture
def people(app) -> dict[str, int]:
    with app.app_context():
        boss = make_admin(email="boss@example.test", name="Bo Boss")
        clerk = make_staff(email="clerk@example.test", name="Clara Clerk")
        rita = make_member(email="rita@example.test", name="Rita Reader")
        db.session.commit()
        return {"admin": boss.id, "staff": clerk.id, "rita": rita.id}


@pytest.fixture
def as_admin(client, people):
    return log_in(client, "boss@example.test")


@pytest.fixture
def as_staff(client, people):
    return log_in(client, "clerk@example.test")


def _entries(app) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return rows


BOOK_FORM = {"title": "Dune", "authors": "Frank Herbert", "price": "9.99",
             "stock_on_hand": "4", "category_id": "0", "is_active": "y"}


# --------------------------------------------------------------------------- what is recorded


def test_adding_and_editing_a_book_is_recorded_with_only_the_changed_fields(app, as_staff,
                                                                           people):
    as_staff.post("/admin/books/new", data=BOOK_FORM)
    with app.app_context():
        book_id = db.session.scalar(sa.select(sa.func.max(AuditEntry.target_id)))

    as_staff.post(f"/admin/books/{book_id}/edit", data={**BOOK_FORM, "price": "12.50"})

    created, edited = _entries(app)
    assert (created.action, created.target_type, created.target_id) == ("book.create", "book",
                                                                        book_id)
    assert created.before is None and created.after["title"] == "Dune"
    assert (edited.action, edited.actor_id, edited.actor_label) == (
        "book.update", people["staff"], "clerk@example.test")
    assert (edited.before, edited.after) == ({"price": "9.99"}, {"price": "12.50"})


def test_saving_a_book_without_changes_records_nothing(app, as_staff):
    as_staff.post("/admin/books/new", data=BOOK_FORM)
    book_id = _entries(app)[0].target_id

    as_staff.post(f"/admin/books/{book_id}/edit", data=BOOK_FORM)

    assert [e.action for e in _entries(app)] == ["book.create"]


def test_a_refused_edit_records_nothing(app, as_staff):
    as_staff.post("/admin/books/new", data=BOOK_FORM)
    book_id = _entries(app)[0].target_id

    response = as_staff.post(f"/admin/books/{book_id}/edit",
                             data={**BOOK_FORM, "stock_on_hand": "-1"})

    assert response.status_code == 400
    assert len(_entries(app)) == 1


def test_category_changes_are_recorded(app, as_staff):
    as_staff.post("/admin/categories/new", data={"name": "Poetry", "slug": "poetry",
                                                 "position": "1"})
    category_id = _entries(app)[0].target_id
    as_staff.post(f"/admin/categories/{category_id}/edit",
                  data={"name": "Verse", "slug": "poetry", "position": "1"})

    as_staff.post(f"/admin/categories/{category_id}/delete")

    actions = [(e.action, e.target_id, e.before, e.after) for e in _entries(app)]
    assert actions[0][:2] == ("category.create", category_id)
    assert actions[1] == ("category.update", category_id, {"name": "Poetry"},
                          {"name": "Verse"})
    assert actions[2][:2] == ("category.delete", category_id)
    assert actions[2][2]["slug"] == "poetry" and actions[2][3] is None


def test_an_admin_setting_a_grade_is_recorded(app, as_admin, people):
    as_admin.post(f"/admin/members/{people['rita']}/grade",
                  data={"tier": "gold", "reason": "Book club organiser"})

    (entry,) = _entries(app)
    assert (entry.action, entry.target_type, entry.target_id) == (
        "tier.grade_set", "member", people["rita"])
    assert (entry.before, entry.after) == ({"tier_code": "regular", "tier_is_manual": False},
                                           {"tier_code": "gold", "tier_is_manual": True})
    assert "Book club organiser" in entry.summary


def test_a_tier_table_change_is_recorded_with_the_old_and_new_table(app, as_admin):
    rows = [("regular", "Regular", "0", "0"), ("silver", "Silver", "400", "5"),
            ("gold", "Gold", "2000", "10"), ("platinum", "Platinum", "5000", "15")]
    data = {}
    for i, (code, name, spend, discount) in enumerate(rows):
        data.update({f"rows-{i}-code": code, f"rows-{i}-name": name,
                     f"rows-{i}-min_spend": spend, f"rows-{i}-discount": discount})

    assert as_admin.post("/admin/tiers", data=data).status_code == 302

    (entry,) = _entries(app)
    assert entry.action == "tier.table"
    assert entry.before["tiers"][1]["min_spend"] == "500.00"
    assert entry.after["tiers"][1]["min_spend"] == "400.00"


def test_record_skips_an_unchanged_snapshot_and_keeps_the_actors_email(ctx):
    actor = make_staff(email="old@example.test")
    book = make_book(title="Emma")
    before = audit.snapshot(book, ["title"])

    assert audit.record(actor.id, actor.email, "book.update", book,
                        before=before, after=before) is None
    entry = audit.record(actor.id, actor.email, "book.update", book,
                         before=before, after={"title": "Emma!"})
    actor.email = "new@example.test"
    db.session.flush()

    assert db.session.get(AuditEntry, entry.id).actor_label == "old@example.test"


# --------------------------------------------------------------------------- browsing


@pytest.fixture
def log(app, people) -> dict[str, int]:
    """Four entries by two people over three days."""
    with app.app_context():
        boss = db.session.get(Member, people["admin"])
        clerk = db.session.get(Member, people["staff"])
        book = make_book(title="Dune", price=Decimal("9.99"))
        category = make_category(slug="poetry", name="Poetry")
        ids = {}
        for key, actor, action, target, day in (
            ("a", clerk, "book.update", book, 1),
            ("b", clerk, "order.status", None, 2),
            ("c", boss, "tier.table", None, 3),
            ("d", boss, "category.update", category, 3),
        ):
            entry = audit.record(actor.id, actor.email, action, target,
                                 target_type=None if target else action.split(".")[0],
                                 before={"name": "=old"}, after={"name": "新"},
                                 summary=f"entry {key}")
            entry.at = datetime(2026, 5, day, 12, tzinfo=UTC)
            ids[key] = entry.id
        ids["book"] = book.id
        db.session.commit()
        return ids


def _listed(client, query: str = "") -> list[int]:
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'href="/admin/audit/(\d+)"', response.get_data(
        as_text=True))]


def test_the_log_lists_newest_first(as_admin, log):
    assert _listed(as_admin) == [log["d"], log["c"], log["b"], log["a"]]


@pytest.mark.parametrize(("query", "expected"), [
    ("actor=clerk", ["b", "a"]),
    ("actor=BOSS@", ["d", "c"]),
    ("action=order.status", ["b"]),
    ("action=tier", ["c"]),
    ("target_type=category", ["d"]),
    ("date_from=2026-05-02&date_to=2026-05-02", ["b"]),
    ("date_from=2026-05-03", ["d", "c"]),
    ("actor=%25", []),  # a LIKE wildcard is matched literally
])
def test_the_log_filters(as_admin, log, query, expected):
    assert _listed(as_admin, query) == [log[k] for k in expected]


def test_the_log_filters_by_actor_id_and_target(as_admin, log, people):
    assert _listed(as_admin, f"actor={people['staff']}") == [log["b"], log["a"]]
    assert _listed(as_admin, f"target_type=book&target_id={log['book']}") == [log["a"]]


@pytest.mark.parametrize("query", ["date_from=2026-13-01", "target_id=abc",
                                   "date_from=2026-05-03&date_to=2026-05-01",
                                   "action=<script>"])
def test_bad_filters_are_a_400_with_a_message(as_admin, log, query):
    response = as_admin.get(f"/admin/audit?{query}")

    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True)


def test_the_log_is_paginated(app, as_admin, people):
    with app.app_context():
        boss = db.session.get(Member, people["admin"])
        for n in range(30):
            audit.record(boss.id, boss.email, "book.update", target_type="book", target_id=n + 1,
                         summary=f"n{n}")
        db.session.commit()

    first, second = _listed(as_admin), _listed(as_admin, "page=2")

    assert (len(first), len(second)) == (25, 5)
    assert not set(first) & set(second)


def test_the_detail_shows_before_and_after_side_by_side(as_admin, log):
    page = as_admin.get(f"/admin/audit/{log['d']}").get_data(as_text=True)

    row = re.search(r'data-testid="audit-change".*?</tr>', page, re.S).group(0)
    assert "=old" in row and "新" in row
    assert row.index("=old") < row.index("新")
    assert "boss@example.test" in page and "category.update" in page


def test_the_csv_export_has_the_filtered_entries_and_neutralises_formulas(as_admin, log):
    response = as_admin.get("/admin/audit.csv?actor=clerk")

    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == list(audit_query.CSV_HEADER)
    assert [int(r[0]) for r in rows[1:]] == [log["b"], log["a"]]
    assert rows[1][rows[0].index("before")] == '{"name": "=old"}'
    assert rows[1][rows[0].index("after")] == '{"name": "新"}'


def test_staff_cannot_read_or_export_the_log(as_staff, log):
    assert as_staff.get("/admin/audit").status_code == 403
    assert as_staff.get(f"/admin/audit/{log['a']}").status_code == 403
    assert as_staff.get("/admin/audit.csv").status_code == 403


def test_the_audit_list_runs_a_fixed_number_of_queries(app, as_admin, log):
    from tests.helpers import counting_statements

    with counting_statements(app) as queries:
        assert as_admin.get("/admin/audit").status_code == 200

    assert len(queries) <= 8
