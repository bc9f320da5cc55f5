"""The API's HTTP side: flask-smorest's Api (the OpenAPI document at /api/v1/openapi.json),
the resource blueprints, the browsable docs, and the token pages (the member's own at
/account/tokens, the staff's at /admin/api-tokens)."""

from __future__ import annotations

import inspect
from http import HTTPStatus

import marshmallow as ma
from flask import Flask, g, request
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from app.api.auth import authenticate_request, current_token, scope_required
from app.api.problems import PROBLEM_JSON, domain_problem, http_problem
from app.api.web.schemas import DecimalString, ProblemSchema
from app.core.audit import record as audit
from app.core.errors import DomainError
from app.core.extensions import csrf
from app.core.unit_of_work import UNSAFE_METHODS

BEARER = {"bearerAuth": []}


class BookstationApi(Api):
    """flask-smorest's Api with problem details as every error response of the document, and
    without its app-wide JSON error handler (the shop's pages keep theirs)."""

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        # One instance for every response: given the class, apispec would build (and
        # deep-copy the fields of) one for each of the forty-odd error statuses.
        problem = ProblemSchema()
        for status in HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = problem
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error, as RFC 9457 problem details",
                    "schema": problem}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def _after(response):
    """Every call that changed data is in the audit log under the token's owner (a retried
    call answered from its idempotency key changed nothing, and is not). An answer to a call
    with a token is the owner's alone: no shared cache keeps it (the client may, and
    revalidates it by its ETag)."""
    token = current_token()
    if token is not None:
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.add("Authorization")
    if (token is not None and request.method in UNSAFE_METHODS and response.status_code < 400
            and not g.get("api_replayed")):
        owner = token.member
        audit.record(owner.id, owner.email, "api.call", token,
                     after={"method": request.method, "path": request.path,
                            "status": response.status_code, "token": token.prefix},
                     summary=f"{request.method} {request.path} (token {token.prefix}…)")
    return response


def _wire(blp) -> None:
    blp.before_request(authenticate_request)
    blp.after_request(_after)
    blp.register_error_handler(HTTPException, http_problem)
    blp.register_error_handler(DomainError, domain_problem)
    csrf.exempt(blp)


class StrictParser(FlaskParser):
    """webargs' parser, refusing unknown query parameters too (a 422 naming them): a typo
    such as `?catgory=` would otherwise be ignored and answer the whole list."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": ma.RAISE, "querystring": ma.RAISE}


class ApiBlueprint(SmorestBlueprint):
    """A resource blueprint: `scoped(...)` marks a view as needing a token with one of the
    scopes (checked, and stated in the document); `public()` one that needs none. Each is
    wired once, when made: the token check, the audit of changes, problem details for its
    errors, and no CSRF check (no cookie counts here)."""

    ARGUMENTS_PARSER = StrictParser()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _wire(self)

    def _check_not_modified(self, etag):
        g.api_etag = etag  # a 304 names the ETag it matched (app.api.problems)
        super()._check_not_modified(etag)

    def scoped(self, *scopes: str):
        def decorate(view):
            checked = scope_required(*scopes)(view)
            return self.doc(
                security=[BEARER],
                description=(inspect.getdoc(view) or "")
                + f"\n\nNeeds a token with the scope {' or '.join(scopes)}.",
                **{"x-scopes": list(scopes)})(checked)
        return decorate

    def public(self):
        def decorate(view):
            return self.doc(security=[{}, BEARER],
                            description=(inspect.getdoc(view) or "")
                            + "\n\nPublic: no token needed.")(view)
        return decorate


def register(app: Flask) -> None:
    from app.api import PREFIX
    from app.api.web import (
        account_tokens,
        admin_tokens,  # noqa: F401  (its routes are on the admin blueprint)
        catalog,
        customers,
        demand,
        docs,
        me,
        orders,
        stock,
    )

    api = BookstationApi(app, spec_kwargs={
        "info": {"description": "Bookstation's JSON API. Send a personal access token as "
                                "`Authorization: Bearer bst_…`; errors are RFC 9457 problem "
                                "details; lists are paged with `page` and `per_page`."},
    })
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "A personal access token (bst_…), made at /account/tokens or, for "
                       "staff scopes, at /admin/api-tokens."})
    api.register_field(DecimalString, "string", "decimal")
    app.extensions["bookstation.api"] = api
    for module in (catalog, me, orders, stock, demand, customers):
        api.register_blueprint(module.blp, url_prefix=PREFIX + module.PATH)
    docs.register(app)
    app.register_blueprint(account_tokens.bp, url_prefix="/account/tokens")
