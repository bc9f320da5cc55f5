"""Who is calling the API: `Authorization: Bearer bst_…`, never a session cookie.

`authenticate_request` runs before every API view: no header is an anonymous call (the public
catalog answers it; anything else is a 401); a header that is not a usable token is a 401 at
once. The token's owner becomes the request's user for the rest of the request (in place of
the session's, which is never read: a browser's cookies carry no weight here, so the API has
no CSRF surface). Each token (each address, for anonymous calls) has its own rate limit,
API_RATE_LIMIT. Views name the scopes they need with `scope_required`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, g, request
from flask_babel import gettext as _

from app.api import tokens as token_rules
from app.api.models import ApiToken
from app.core.extensions import db, limiter, login_manager
from app.membership.models import Member
from app.serving.library_internals import put_request_user


def current_token() -> ApiToken | None:
    return g.get("api_token")


def current_owner() -> Member:
    """The member whose token made this call (views behind `scope_required` only)."""
    token = current_token()
    if token is None:  # pragma: no cover - scope_required stops such a call first
        abort(401)
    return token.member


def _rate_key() -> str:
    token = current_token()
    return f"api-token:{token.id}" if token is not None else f"api-anon:{request.remote_addr}"


_LIMIT = limiter.limit(lambda: current_app.config.get("API_RATE_LIMIT", "600 per minute"),
                       key_func=_rate_key, scope="api")


def authenticate_request() -> None:
    header = request.headers.get("Authorization")
    token = None
    if header is not None:
        kind, _space, secret = header.partition(" ")
        if kind.lower() != "bearer" or not secret.strip():
            abort(401, _("Send the token as %(header)s.", header="Authorization: Bearer <token>"))
        token = token_rules.authenticate(secret.strip())
        if token is None:
            abort(401, _("This token is unknown, revoked or expired."))
        if token_rules.touch(token):
            db.session.commit()  # its own transaction: a read-only request commits nothing
    g.api_token = token
    put_request_user(token.member if token is not None else login_manager.anonymous_user())
    if current_app.config.get("RATELIMIT_ENABLED", True):
        with _LIMIT:
            pass


def scope_required(*any_of: str) -> Callable:
    """The view needs a token with at least one of these scopes that its owner may still hold
    (`tokens.effective_scopes`, checked at every call): 401 without a token, 403 otherwise."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            token = current_token()
            if token is None:
                abort(401, _("This call needs a token: send it as %(header)s.",
                             header="Authorization: Bearer <token>"))
            if not token.scope_set & set(any_of):
                abort(403, _("This token's scopes do not allow this call (it needs "
                             "%(scopes)s).", scopes=" or ".join(any_of)))
            if not token_rules.effective_scopes(token) & set(any_of):
                abort(403, _("This token's owner may no longer use %(scopes)s.",
                             scopes=" or ".join(any_of)))
            return view(*args, **kwargs)

        wrapper.required_scopes = any_of  # type: ignore[attr-defined]
        return wrapper

    return decorate
