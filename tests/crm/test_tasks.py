"""Tasks: follow-ups with an assignee, due date, priority and what to do; "my" and "team"
queues; done and reopen; notes edited or deleted by their author; the daily digest mail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.crm import erasure, interactions, task_digest
from app.crm.interactions import FollowUpClosed, NotYourNote
from app.mail.sender import deliver_due
from app.models import Interaction, OutboxMail, TaskPriority
from tests.factories import make_admin, make_member, make_staff
from tests.pages import logged_in_client

TODAY = date(2026, 12, 6)


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- assigning


def test_a_follow_up_is_the_authors_task_unless_someone_else_is_named(ctx):
    author, colleague = make_staff(name="Ann Author"), make_staff(name="Col League")
    customer = make_member()
    own = interactions.add_interaction(customer, author, "phone", "Asked about Dune",
                                       TODAY)
    handed = interactions.add_interaction(customer, author, "email", "Wants an invoice",
                                          TODAY + timedelta(days=2), assignee_id=colleague.id,
                                          priority="high", task_note="Send the invoice")
    plain = interactions.add_interaction(customer, author, "visit", "Just browsing")

    assert own.assignee_id == author.id and own.priority == TaskPriority.NORMAL
    assert (handed.assignee_id, handed.priority, handed.task_note) == (
        colleague.id, TaskPriority.HIGH, "Send the invoice")
    assert plain.assignee_id is None
    assert [t.id for t in interactions.open_tasks(author)] == [own.id]
    assert [t.id for t in interactions.open_tasks(colleague)] == [handed.id]
    assert [t.id for t in interactions.open_tasks()] == [own.id, handed.id]
    [entry, *_] = _audit("customer.interaction")
    assert entry.after["assignee_id"] == author.id


def test_a_task_goes_only_to_staff(ctx):
    author, customer = make_staff(), make_member()
    with pytest.raises(InvalidInput, match="member of staff"):
        interactions.add_interaction(customer, author, "phone", "Call back", TODAY,
                                     assignee_id=make_member().id)
    with pytest.raises(InvalidInput, match="priority"):
        interactions.add_interaction(customer, author, "phone", "Call back", TODAY,
                                     priority="urgent!")


def test_the_team_queue_puts_the_most_urgent_first(ctx):
    author, customer = make_staff(), make_member()
    later = interactions.add_interaction(customer, author, "phone", "b", TODAY + timedelta(1))
    low = interactions.add_interaction(customer, author, "phone", "c", TODAY, priority="low")
    high = interactions.add_interaction(customer, author, "phone", "d", TODAY, priority="high")
    assert [t.id for t in interactions.open_tasks()] == [high.id, low.id, later.id]


def test_reassigning_a_task_is_audited_with_before_and_after(ctx):
    author, colleague, customer = make_staff(), make_staff(), make_member()
    task = interactions.add_interaction(customer, author, "phone", "Call back", TODAY)
    interactions.update_task(task, author, due_on=TODAY + timedelta(days=1),
                             assignee_id=colleague.id, priority="high", task_note="Ring")
    [entry] = _audit("customer.task")
    assert entry.before["assignee_id"] == author.id and entry.after["assignee_id"] == colleague.id
    assert (entry.target_type, entry.target_id) == ("member", customer.id)
    interactions.update_task(task, author, due_on=None, assignee_id=None, priority=None,
                             task_note=None)
    assert task.follow_up_on is None and task.assignee_id is None
    assert interactions.open_tasks() == []


def test_done_and_reopen_each_happen_once_and_are_audited(ctx):
    author, customer = make_staff(), make_member()
    task = interactions.add_interaction(customer, author, "phone", "Call back", TODAY)
    interactions.complete_follow_up(task, author)
    with pytest.raises(FollowUpClosed):
        interactions.complete_follow_up(task, author)
    interactions.reopen_task(task, author)
    with pytest.raises(FollowUpClosed):
        interactions.reopen_task(task, author)
    assert task.follow_up_done_at is None
    assert [t.id for t in interactions.open_tasks(author)] == [task.id]
    assert len(_audit("customer.follow_up_done")) == 1
    assert len(_audit("customer.task_reopened")) == 1


# --------------------------------------------------------------------------- notes


def test_the_author_edits_a_note_and_the_audit_keeps_the_old_text_until_erasure(ctx):
    author, admin, customer = make_staff(), make_admin(), make_member(name="Ed Erasable")
    note = interactions.add_interaction(customer, author, "phone", "Said the wrong thing")
    interactions.edit_note(note, author, "Said the right thing")
    assert note.body == "Said the right thing" and note.edited_at is not None
    [entry] = _audit("customer.note_edited")
    assert entry.before["body"] == "Said the wrong thing"
    assert entry.after == {"body": "Said the right thing", "interaction_id": note.id}

    erasure.erase_member(customer, admin)

    db.session.refresh(entry)
    assert "Said the wrong thing" not in str(entry.before)
    assert "Said the right thing" not in str(entry.after)


def test_the_author_deletes_a_note_and_the_audit_keeps_what_it_said_until_erasure(ctx):
    author, admin, customer = make_staff(), make_admin(), make_member()
    note = interactions.add_interaction(customer, author, "phone", "Private remark", TODAY,
                                        task_note="Remember the remark")
    interactions.delete_note(note, author)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 0
    [entry] = _audit("customer.note_deleted")
    assert entry.before["body"] == "Private remark"
    assert entry.before["task_note"] == "Remember the remark"

    erasure.erase_member(customer, admin)

    db.session.refresh(entry)
    assert "Private remark" not in str(entry.before)
    assert "Remember the remark" not in str(entry.before)


def test_only_the_author_may_edit_or_delete_a_note(ctx):
    author, other, customer = make_staff(), make_staff(), make_member()
    note = interactions.add_interaction(customer, author, "phone", "Mine")
    with pytest.raises(NotYourNote):
        interactions.edit_note(note, other, "Theirs")
    with pytest.raises(NotYourNote):
        interactions.delete_note(note, other)
    assert note.body == "Mine"


def test_erasure_scrubs_a_tasks_note(ctx):
    author, admin, customer = make_staff(), make_admin(), make_member()
    note = interactions.add_interaction(customer, author, "phone", "x", TODAY,
                                        task_note="Call Ed at home")
    erasure.erase_member(customer, admin)
    db.session.refresh(note)
    assert "Ed" not in (note.task_note or "")


# --------------------------------------------------------------------------- pages


def test_my_tasks_and_team_tasks_pages(app, staff_id):
    with app.app_context():
        colleague = make_staff(name="Col League")
        customer = make_member(name="Cora Customer")
        clerk = db.session.get(type(colleague), staff_id)
        mine = interactions.add_interaction(customer, clerk, "phone", "Call Cora", TODAY,
                                            task_note="Ring about Dune")
        interactions.add_interaction(customer, clerk, "phone", "For Col", TODAY,
                                     assignee_id=colleague.id, task_note="Col's job")
        db.session.commit()
        mine_id, customer_id, colleague_id = mine.id, customer.id, colleague.id
    agent = logged_in_client(app, "clerk@example.test")

    my_page = agent.get("/admin/tasks").get_data(as_text=True)
    assert "Ring about Dune" in my_page and "Col&#39;s job" not in my_page
    team_page = agent.get("/admin/tasks/team").get_data(as_text=True)
    assert "Ring about Dune" in team_page and "Col&#39;s job" in team_page
    only_col = agent.get(f"/admin/tasks/team?assignee={colleague_id}").get_data(as_text=True)
    assert "Ring about Dune" not in only_col

    done = agent.post(f"/admin/customers/{customer_id}/interactions/{mine_id}/done",
                      data={"next": "my_tasks"})
    assert done.status_code == 302 and done.location.endswith("/admin/tasks")
    assert "Ring about Dune" not in agent.get("/admin/tasks").get_data(as_text=True).split(
        "Recently done")[0]
    reopened = agent.post(f"/admin/customers/{customer_id}/interactions/{mine_id}/reopen",
                          data={"next": "my_tasks"})
    assert reopened.status_code == 302


def test_a_note_is_given_to_a_colleague_from_the_record(app, staff_id):
    with app.app_context():
        colleague = make_staff(name="Col League")
        customer = make_member()
        db.session.commit()
        colleague_id, customer_id = colleague.id, customer.id
    agent = logged_in_client(app, "clerk@example.test")
    response = agent.post(f"/admin/customers/{customer_id}/interactions", data={
        "kind": "phone", "body": "Wants a signed copy", "follow_up_on": "2026-12-08",
        "assignee": str(colleague_id), "priority": "high", "task_note": "Find a signed copy"})
    assert response.status_code == 302
    with app.app_context():
        [task] = db.session.scalars(sa.select(Interaction)).all()
        assert (task.assignee_id, task.priority) == (colleague_id, TaskPriority.HIGH)
    record = agent.get(f"/admin/customers/{customer_id}").get_data(as_text=True)
    assert "Task for Col League" in record


def test_another_staff_member_cannot_edit_or_delete_my_note(app, staff_id):
    with app.app_context():
        other = make_staff(email="other@example.test")
        customer = make_member()
        note = interactions.add_interaction(customer, other, "phone", "Other's note")
        db.session.commit()
        path = f"/admin/customers/{customer.id}/interactions/{note.id}"
    agent = logged_in_client(app, "clerk@example.test")
    assert agent.get(path + "/edit").status_code == 403
    assert agent.post(path + "/edit", data={"body": "mine now"}).status_code == 403
    assert agent.post(path + "/delete").status_code == 403
    author = logged_in_client(app, "other@example.test")
    assert author.post(path + "/edit", data={"body": "Fixed"}).status_code == 302
    assert author.post(path + "/delete").status_code == 302


# --------------------------------------------------------------------------- the digest


def test_the_daily_digest_mails_each_staff_member_once_over_smtp(ctx, smtp_inbox):
    ann = make_staff(email="ann@example.test", name="Ann")
    bob = make_staff(email="bob@example.test", name="Bob")
    make_staff(email="idle@example.test", name="Idle")  # no task: no mail
    customer = make_member(name="Cora Customer")
    today = utcnow().date()
    interactions.add_interaction(customer, ann, "phone", "late", today - timedelta(days=2))
    interactions.add_interaction(customer, ann, "phone", "soon", today + timedelta(days=3))
    interactions.add_interaction(customer, ann, "phone", "for Bob", today, assignee_id=bob.id)
    db.session.commit()

    assert task_digest.send_digests() == 2
    db.session.commit()
    assert task_digest.send_digests() == 0  # the same day again: nothing more
    db.session.commit()
    deliver_due()

    mails = {m["To"]: m for m in smtp_inbox.parsed()}
    assert set(mails) == {"ann@example.test", "bob@example.test"}
    assert mails["ann@example.test"]["Subject"] == "Your tasks today: 2 open · 1 overdue"
    body = mails["ann@example.test"].get_body(("plain",)).get_content()
    assert "overdue" in body and customer.member_no in body
    assert "Cora" not in body  # no customer's name in a staff inbox
    assert f"/admin/customers/{customer.id}" in body


def test_the_digest_command_can_run_twice_a_day(app, runner):
    with app.app_context():
        staff = make_staff()
        interactions.add_interaction(make_member(), staff, "phone", "x", utcnow().date())
        db.session.commit()
        staff_id = staff.id
    first = runner.invoke(args=["tasks", "digest"])
    second = runner.invoke(args=["tasks", "digest"])
    assert "1 digest(s) queued" in first.output and "0 digest(s) queued" in second.output
    with app.app_context():
        keys = db.session.scalars(sa.select(OutboxMail.dedupe_key).where(
            OutboxMail.kind == "task_digest")).all()
        assert keys == [task_digest.dedupe_key(staff_id, utcnow().date())]
