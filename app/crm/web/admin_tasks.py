"""Admin tasks: "My tasks" and "Team tasks" (the follow-ups on customers, with an assignee,
due date, priority and what to do); a task set, reassigned, done and reopened; a note edited
or deleted by its author. Staff and admins alike; every change audited by app.crm.interactions.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import ID
from app.admin.forms import ActionForm
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error
from app.crm import interactions
from app.crm.models import Interaction
from app.crm.web.admin_customer_forms import NoteEditForm, TaskForm, staff_choices
from app.membership.models import Member


def _actor() -> Member:
    return current_user._get_current_object()


def _note(member_id: int, interaction_id: int) -> Interaction:
    member = db.get_or_404(Member, member_id)
    try:
        return interactions.interaction_for(member, interaction_id)
    except NotFound:
        abort(404)


def _record(member_id: int, **_values) -> str:
    return url_for("admin.customer", member_id=member_id) + "#interactions"


def _queue(template_title: str, tasks: list[Interaction], *, team: bool, staff=None,
           assignee_id: int | None = None):
    return render_template(
        "admin/customers/tasks.html", tasks=tasks, team=team, staff=staff or [],
        assignee_id=assignee_id, today=utcnow().date(),
        done=interactions.done_tasks(None if team else _actor(), limit=20),
        kind_label=interactions.kind_label, priority_label=interactions.priority_label,
        action_form=ActionForm(formdata=None), title=template_title)


@bp.route("/tasks")
def my_tasks():
    """The open tasks assigned to me, most urgent first."""
    return _queue(_("My tasks"), interactions.open_tasks(_actor()), team=False)


@bp.route("/tasks/team")
def team_tasks():
    """Everyone's open tasks, or one staff member's (?assignee=<id>)."""
    raw = request.args.get("assignee", "")
    assignee_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    return _queue(_("Team tasks"), interactions.open_tasks(assignee_id=assignee_id), team=True,
                  staff=interactions.staff_members(), assignee_id=assignee_id)


def _task_back(member_id: int, **_values) -> str:
    back = request.form.get("next")
    if back in ("my_tasks", "team_tasks"):
        return url_for(f"admin.{back}")
    return _record(member_id)


@bp.route(f"/customers/<{ID}:member_id>/interactions/<{ID}:interaction_id>/reopen",
          methods=["POST"])
@back_on_error(_task_back)
def task_reopen(member_id: int, interaction_id: int):
    note = _note(member_id, interaction_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    interactions.reopen_task(note, _actor())  # FollowUpClosed: sent back with its message
    flash(_("The task is open again."), "success")
    return redirect(_task_back(member_id))


def _task_page(note: Interaction, form: TaskForm, status: int = 200):
    form.assignee.choices = staff_choices(interactions.staff_members(), _("Me"))
    return render_template("admin/customers/task_edit.html", note=note, member=note.member,
                           form=form, kind_label=interactions.kind_label,
                           title=_("Task for %(name)s", name=note.member.name)), status


@bp.route(f"/customers/<{ID}:member_id>/interactions/<{ID}:interaction_id>/task",
          methods=["GET", "POST"])
def task_edit(member_id: int, interaction_id: int):
    note = _note(member_id, interaction_id)
    if request.method == "GET":
        form = TaskForm(formdata=None, data={
            "follow_up_on": note.follow_up_on,
            "assignee": str(note.assignee_id or ""), "priority": note.priority.value,
            "task_note": note.task_note or ""})
        return _task_page(note, form)
    form = TaskForm()
    form.assignee.choices = staff_choices(interactions.staff_members(), _("Me"))
    if not form.validate_on_submit():
        return _task_page(note, form, 400)
    try:
        interactions.update_task(note, _actor(), due_on=form.follow_up_on.data,
                                 assignee_id=form.assignee_id(), priority=form.priority.data,
                                 task_note=form.task_note.data)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return _task_page(db.get_or_404(Interaction, interaction_id), form, 400)
    flash(_("The task is saved.") if note.follow_up_on else _("The note has no task any more."),
          "success")
    return redirect(_record(member_id))


def _edit_page(note: Interaction, form: NoteEditForm, status: int = 200):
    return render_template("admin/customers/note_edit.html", note=note, member=note.member,
                           form=form, action_form=ActionForm(formdata=None),
                           kind_label=interactions.kind_label,
                           title=_("Edit the note")), status


@bp.route(f"/customers/<{ID}:member_id>/interactions/<{ID}:interaction_id>/edit",
          methods=["GET", "POST"])
def note_edit(member_id: int, interaction_id: int):
    note = _note(member_id, interaction_id)
    if note.staff_id != _actor().id:
        abort(403)  # only the author; the service says so again
    if request.method == "GET":
        return _edit_page(note, NoteEditForm(formdata=None, data={"body": note.body}))
    form = NoteEditForm()
    if not form.validate_on_submit():
        return _edit_page(note, form, 400)
    try:
        interactions.edit_note(note, _actor(), form.body.data)
    except DomainError as error:
        form.body.errors.append(error.message)
        return _edit_page(note, form, 400)
    flash(_("The note is saved."), "success")
    return redirect(_record(member_id))


@bp.route(f"/customers/<{ID}:member_id>/interactions/<{ID}:interaction_id>/delete",
          methods=["POST"])
@back_on_error(_record)
def note_delete(member_id: int, interaction_id: int):
    note = _note(member_id, interaction_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if note.staff_id != _actor().id:
        abort(403)
    interactions.delete_note(note, _actor())
    flash(_("The note is deleted."), "success")
    return redirect(_record(member_id))


register_nav(__name__, "admin.my_tasks", _l("My tasks"), order=17)
register_nav(__name__, "admin.team_tasks", _l("Team tasks"), order=18)
