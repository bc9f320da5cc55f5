"""Feedback pages: one form per delivered order, reached by the mail's signed link (no login
needed: see app.feedback.reviews for why) or, logged in, from the order page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.core.errors import NotFound
from app.core.extensions import db
from app.feedback import reviews
from app.feedback.web import bp
from app.feedback.web.forms import order_feedback_form
from app.membership.models import Member


def _handle(feedback, action: str, token: str | None = None):
    if request.method == "POST":
        form = order_feedback_form(feedback, formdata=request.form)
        if form.validate():
            try:
                saved = reviews.save_order_feedback(feedback, form.answers(),
                                                    form.score_value(), form.comment.data)
            except reviews.InvalidFeedback as exc:
                form.form_errors.append(exc.message)  # shown again with 400: nothing is kept
            else:
                if saved:
                    flash(_("Thank you! Your answers are saved. Reviews appear on the book page "
                            "once our staff have read them."), "success")
                else:
                    flash(_("Nothing to save yet: choose some stars or a score."), "info")
                return redirect(action)
    else:
        form = order_feedback_form(feedback)
    status = 400 if form.errors or form.form_errors else 200
    return render_template("feedback/order.html", feedback=feedback, form=form,
                           action=action, token=token,
                           title=_("Your opinion of order %(number)s",
                                   number=feedback.order.number)), status


@bp.route("/feedback/order/<int(max=2147483647):order_id>", methods=["GET", "POST"])
@login_required
def order_feedback(order_id: int):
    try:
        feedback = reviews.feedback_order(current_user.id, order_id)
    except NotFound:
        abort(404)
    return _handle(feedback, url_for("feedback.order_feedback", order_id=order_id))


@bp.route("/feedback/t/<token>", methods=["GET", "POST"])
def order_feedback_token(token: str):
    try:
        order_id, member_id = reviews.read_invite_token(token)
    except reviews.InvalidInviteToken as exc:
        return render_template("feedback/invalid.html", message=exc.message,
                               title=_("Link not valid")), 400
    member = db.session.get(Member, member_id)
    if member is None or not member.is_active_account:
        abort(404)
    try:
        feedback = reviews.feedback_order(member_id, order_id)
    except NotFound:
        abort(404)
    return _handle(feedback, url_for("feedback.order_feedback_token", token=token), token)
