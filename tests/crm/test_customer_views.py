"""The customer list for daily work: saved views (private or shared) and bulk actions on the
ticked customers or on exactly the members the filters select."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.crm import customer_views, erasure, tags
from app.models import CustomerView, Interaction, Member, MemberTag
from tests.factories import make_admin, make_member, make_staff
from tests.pages import logged_in_client


def _people():
    ids = {}
    for name, city in (("Ann Teacher", "Paris"), ("Bob Teacher", "Lyon"),
                       ("Cy Student", "Paris")):
        ids[name] = make_member(name=name, city=city).id
    return ids


def test_a_view_keeps_only_the_lists_filters(ctx):
    staff = make_staff()
    view = customer_views.save_view(staff, " Teachers ", {"q": "teacher", "sort": "joined",
                                                         "evil": "x", "page": "3"}, False)
    assert (view.name, view.query) == ("Teachers", "q=teacher&sort=joined")


def test_private_views_are_their_owners_and_shared_ones_everyones(ctx):
    ann, bob, admin = make_staff(), make_staff(), make_admin()
    private = customer_views.save_view(ann, "Mine", {"q": "x"}, False)
    shared = customer_views.save_view(ann, "Ours", {"q": "y"}, True)
    assert [v.name for v in customer_views.views_for(ann)] == ["Mine", "Ours"]
    assert [v.name for v in customer_views.views_for(bob)] == ["Ours"]
    try:
        customer_views.delete_view(shared, bob)
        raise AssertionError("a colleague deleted someone else's view")
    except Exception as refusal:
        assert "owner" in str(refusal)
    customer_views.delete_view(shared, admin)
    customer_views.delete_view(private, ann)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerView)) == 0


def test_bulk_tag_on_the_filter_reaches_exactly_the_filtered_members(app, staff_id):
    with app.app_context():
        ids = _people()
        db.session.commit()
    agent = logged_in_client(app, "clerk@example.test")
    response = agent.post("/admin/customers/bulk", data={
        "action": "tag", "scope": "filter", "tag": "teacher", "query": "q=teacher"})
    assert response.status_code == 302
    with app.app_context():
        tagged = set(db.session.scalars(sa.select(MemberTag.member_id)))
        assert tagged == {ids["Ann Teacher"], ids["Bob Teacher"]}
        [summary] = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "customer.bulk")).all()
        assert summary.after["count"] == 2 and summary.after["filters"] == {"q": "teacher"}


def test_bulk_task_on_the_ticked_customers_only(app, staff_id):
    with app.app_context():
        ids = _people()
        colleague = make_staff(name="Col League")
        db.session.commit()
        colleague_id = colleague.id
    agent = logged_in_client(app, "clerk@example.test")
    response = agent.post("/admin/customers/bulk", data={
        "action": "task", "scope": "selected", "body": "Invite to the reading",
        "due_on": "2026-12-20", "assignee": str(colleague_id), "priority": "high",
        "member_ids": [str(ids["Cy Student"]), str(ids["Ann Teacher"])], "query": ""})
    assert response.status_code == 302
    with app.app_context():
        rows = db.session.execute(sa.select(Interaction.member_id, Interaction.assignee_id)
                                  ).all()
        assert sorted(rows) == sorted([(ids["Cy Student"], colleague_id),
                                       (ids["Ann Teacher"], colleague_id)])


def test_bulk_untag_and_a_refused_bulk_action_changes_nothing(app, staff_id):
    with app.app_context():
        ids = _people()
        clerk = db.session.get(Member, staff_id)
        for member_id in ids.values():
            tags.add_tag(db.session.get(Member, member_id), "vip", clerk)
        db.session.commit()
    agent = logged_in_client(app, "clerk@example.test")
    missing = agent.post("/admin/customers/bulk", data={"action": "task", "scope": "filter",
                                                        "query": "city=Paris"})
    assert missing.status_code in (302, 303)  # sent back with the message: nothing done
    untag = agent.post("/admin/customers/bulk", data={"action": "untag", "scope": "filter",
                                                      "tag": "VIP", "query": "q=teacher"})
    assert untag.status_code == 302
    with app.app_context():
        assert set(db.session.scalars(sa.select(MemberTag.member_id))) == {ids["Cy Student"]}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 0


def test_views_through_the_list_page(app, staff_id):
    agent = logged_in_client(app, "clerk@example.test")
    saved = agent.post("/admin/customers/views", data={"name": "Paris teachers",
                                                       "query": "q=teacher&sort=joined",
                                                       "shared": "y"})
    assert saved.status_code == 302 and saved.location.endswith("?q=teacher&sort=joined")
    page = agent.get("/admin/customers").get_data(as_text=True)
    assert 'href="/admin/customers?q=teacher&amp;sort=joined">Paris teachers</a>' in page


def test_erasure_forgets_views_that_search_for_the_person(ctx):
    staff, admin = make_staff(), make_admin()
    member = make_member(name="Erin Erased", email="erin@example.test")
    customer_views.save_view(staff, "Erin", {"q": "erin@example.test"}, False)
    customer_views.save_view(staff, "Others", {"q": "teacher"}, False)
    erasure.erase_member(member, admin)
    assert [v.name for v in db.session.scalars(sa.select(CustomerView))] == ["Others"]


def test_exporting_the_ticked_customers_needs_the_export_right(app, staff_id):
    with app.app_context():
        ids = _people()
        make_admin(email="boss@example.test")
        db.session.commit()
    ticked = {"action": "export", "scope": "selected", "query": "",
              "member_ids": [str(ids["Ann Teacher"]), str(ids["Cy Student"])]}
    clerk = logged_in_client(app, "clerk@example.test")
    assert clerk.post("/admin/customers/bulk", data=ticked).status_code == 403
    boss = logged_in_client(app, "boss@example.test")
    response = boss.post("/admin/customers/bulk", data=ticked)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert "Ann Teacher" in body and "Cy Student" in body and "Bob Teacher" not in body
    with app.app_context():
        [entry] = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "customer.list_export")).all()
        assert entry.after["rows"] == 2


def test_a_digit_that_is_not_ascii_in_a_bulk_form_or_a_filter_is_ignored_not_an_error(
        app, staff_id):
    """"²".isdigit() is true but int("²") raises: such ids are nobody, never a 500."""
    with app.app_context():
        ids = _people()
        db.session.commit()
    agent = logged_in_client(app, "clerk@example.test")

    for action in ("campaign", "task"):
        response = agent.post("/admin/customers/bulk", data={
            "action": action, "scope": "selected", "campaign": "²", "assignee": "²",
            "body": "Call", "due_on": "2026-12-20", "priority": "normal",
            "member_ids": ["²", str(ids["Cy Student"])], "query": ""})
        assert response.status_code in (302, 303), action
    assert agent.get("/admin/tasks/team?assignee=²").status_code == 200
    assert agent.get(f"/admin/customers/{ids['Cy Student']}?tpage=²").status_code == 200
    with app.app_context():  # the task went to the ticked customer, assigned to the clerk
        assert db.session.execute(sa.select(Interaction.member_id, Interaction.assignee_id)
                                  ).all() == [(ids["Cy Student"], staff_id)]
