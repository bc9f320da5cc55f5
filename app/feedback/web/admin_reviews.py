"""Admin: review moderation. Staff read members' reviews and approve or reject them
before they show on the book page; every decision is in the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import Length, Optional

from app.admin import bp, register_nav
from app.admin.common import ID, page_number
from app.admin.forms import ActionForm, stripped
from app.catalog.web.views import forget_catalog
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import after_commit, back_on_error
from app.feedback import reviews
from app.feedback.models import Review, ReviewStatus

STATUS_LABELS = {
    ReviewStatus.PENDING: _l("Waiting"),
    ReviewStatus.APPROVED: _l("Approved"),
    ReviewStatus.REJECTED: _l("Rejected"),
}


class ModerateForm(ActionForm):
    note = StringField(_l("Note (optional, kept in the audit log)"), filters=[stripped],
                       validators=[Optional(), Length(max=500)])


def _status() -> ReviewStatus:
    raw = request.args.get("status", ReviewStatus.PENDING.value)
    try:
        return ReviewStatus(raw)
    except ValueError:
        abort(404)


@bp.route("/reviews")
def reviews_list():
    status = _status()
    pagination = reviews.reviews_for_moderation(status, page_number())
    return render_template("admin/reviews/list.html", pagination=pagination, status=status,
                           statuses=STATUS_LABELS, pending=reviews.pending_count(),
                           form=ModerateForm(), title=_("Reviews"))


def _back_status() -> str:
    back = request.form.get("back_status", ReviewStatus.PENDING.value)
    return back if back in {s.value for s in ReviewStatus} else ReviewStatus.PENDING.value


def _ids(name: str) -> list[int]:
    return [int(v) for v in request.form.getlist(name) if v.isascii() and v.isdigit()
            and len(v) < 10]


@bp.route("/reviews/bulk", methods=["POST"])
@back_on_error(lambda **_values: url_for("admin.reviews_list", status=_back_status()))
def reviews_bulk():
    """Approve or reject the ticked reviews, or every review on the page ("Select all on this
    page", which needs no script): one form, one CSRF token, each review audited."""
    form = ModerateForm()
    action = request.form.get("action", "")
    if action not in {"approve", "reject"}:
        abort(400)
    if not form.validate():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("admin.reviews_list", status=_back_status())), 303
    ids = _ids("page_ids") if request.form.get("all_on_page") else _ids("review_ids")
    changed = reviews.moderate_many(ids, current_user._get_current_object(),
                                    action == "approve", form.note.data)
    after_commit(forget_catalog)
    if action == "approve":
        message = ngettext("%(num)d review approved: it now shows on the book page.",
                           "%(num)d reviews approved: they now show on the book pages.", changed)
    else:
        message = ngettext("%(num)d review rejected: it will not be shown.",
                           "%(num)d reviews rejected: they will not be shown.", changed)
    flash(message, "success")
    return redirect(url_for("admin.reviews_list", status=_back_status()), 303)


@bp.route(f"/reviews/<{ID}:review_id>/moderate", methods=["POST"])
def review_moderate(review_id: int):
    review = db.get_or_404(Review, review_id)
    form = ModerateForm()
    action = request.form.get("action", "")
    if action not in {"approve", "reject"}:
        abort(400)
    back = request.form.get("back_status", ReviewStatus.PENDING.value)
    if back not in {s.value for s in ReviewStatus}:
        back = ReviewStatus.PENDING.value
    if not form.validate():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("admin.reviews_list", status=back)), 303
    reviews.moderate(review, current_user._get_current_object(), action == "approve",
                     form.note.data)
    after_commit(forget_catalog)
    flash(_("Review approved: it now shows on the book page.") if action == "approve"
          else _("Review rejected: it will not be shown."), "success")
    return redirect(url_for("admin.reviews_list", status=back))


register_nav(__name__, "admin.reviews_list", _l("Reviews"), order=50)
