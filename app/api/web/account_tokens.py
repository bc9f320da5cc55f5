"""A member's own API tokens at /account/tokens: make one (scopes `me` and `catalog:read`;
its secret shown once, on the answer to the form) and revoke one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.admin.common import ID
from app.api import tokens as token_rules
from app.api.web.token_forms import TokenForm, token_page
from app.core.unit_of_work import back_on_error

bp = Blueprint("api_tokens", __name__)


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "private, no-store"  # a secret may be on the page
    return response


def _page(form: TokenForm, new=None, status: int = 200):
    member = current_user._get_current_object()
    return render_template("api/tokens.html", form=form, new=new,
                           tokens=token_rules.tokens_of(member),
                           title=_("API tokens")), status


@bp.route("", methods=["GET", "POST"])
@login_required
def tokens():
    return token_page(token_rules.MEMBER_SCOPES, _page)


@bp.route(f"/<{ID}:token_id>/revoke", methods=["POST"])
@login_required
@back_on_error("api_tokens.tokens")
def revoke(token_id: int):
    token = token_rules.revoke_token(token_id, current_user._get_current_object())
    flash(_("Token %(prefix)s… revoked: it no longer works.", prefix=token.prefix), "success")
    return redirect(url_for("api_tokens.tokens"), 303)
