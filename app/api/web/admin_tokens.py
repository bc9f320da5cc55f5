"""Staff API tokens at /admin/api-tokens: a member of staff makes tokens for themselves with
any scope (the secret shown once); staff see and revoke their own tokens, admins everyone's."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import ID, is_admin
from app.api import tokens as token_rules
from app.api.web.token_forms import TokenForm, token_page
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error


def _page(form: TokenForm, new=None, status: int = 200):
    me = current_user._get_current_object()
    listed = token_rules.all_tokens() if is_admin() else token_rules.tokens_of(me)
    return render_template("admin/api/tokens.html", form=form, new=new, tokens=listed,
                           title=_l("API tokens")), status


@bp.route("/api-tokens", methods=["GET", "POST"])
def api_tokens():
    return token_page(token_rules.SCOPES, _page)


@bp.route(f"/api-tokens/<{ID}:token_id>/revoke", methods=["POST"])
@back_on_error("admin.api_tokens")
def api_token_revoke(token_id: int):
    token = token_rules.revoke_token(token_id, current_user._get_current_object(),
                                     any_owner=is_admin())
    flash(_("Token %(prefix)s… revoked: it no longer works.", prefix=token.prefix), "success")
    return redirect(url_for("admin.api_tokens"), 303)


register_nav(__name__, "admin.api_tokens", _l("API tokens"), order=95)
