"""Errors under /api/v1 as RFC 9457 problem details (`application/problem+json`):

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "There is no such book.", "instance": "/api/v1/books/9"}

with `errors` for bad input, field by field: {"quantity": ["Enter a number from 1 to 100000."]}.
Every error takes this shape: a route that does not exist or refuses the method, a missing,
revoked or expired token (401), a missing scope (403), a refused rule (409), bad input (422),
too many requests (429) and a failure of the shop (500, which says nothing more).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from flask import g, json, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from app.core.errors import DomainError, InvalidInput, NotFound
from app.core.extensions import db

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str | None = None, *, errors: Mapping | None = None,
            headers: Mapping | None = None) -> Response:
    """One problem response; `title` is the status's standard phrase (type `about:blank`)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict = {"type": "about:blank", "title": title, "status": status,
                  "instance": request.path}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = dict(errors)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({"json": {"quantity": ["…"]}}) as {"quantity": ["…"]}:
    nested fields dotted ("lines.0.quantity"); the request part (json, query, headers) dropped."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = str(key)
            if not prefix and name in ("json", "query", "headers", "form", "files",
                                       "path", "view_args"):
                name = ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            for field, texts in field_errors(value, path).items():
                flat.setdefault(field, []).extend(texts)
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "_body"] = [str(m) for m in messages]
        else:
            for message in messages:
                for field, texts in field_errors(message, prefix).items():
                    flat.setdefault(field, []).extend(texts)
    elif messages is not None:
        flat[prefix or "_body"] = [str(messages)]
    return flat


def _end_transaction() -> None:
    try:
        db.session.rollback()
    except Exception:  # the database itself is gone: the problem is answered without it
        pass
    g.pop("after_commit", None)


def http_problem(error: HTTPException) -> Response:
    """Any HTTP error raised under /api/v1 (a view's abort, routing, webargs, the limiter)."""
    code = error.code or 500
    if code == 304:  # an ETag matched If-None-Match (flask-smorest raises it)
        response = Response(status=304)
        if g.get("api_etag"):
            response.set_etag(g.api_etag)
        return response
    headers = dict(getattr(error, "data", None) or {}).get("headers") or {}
    data = getattr(error, "data", None) or {}
    errors = None
    if code == 422:
        errors = field_errors(data.get("errors") or data.get("messages")) or None
    if code >= 500:
        _end_transaction()
        detail = "The shop could not answer this request; please try again later."
    elif errors:
        detail = "Some of the input is not valid: `errors` names each field."
    else:
        detail = data.get("message") or error.description
    response = problem(code, detail, errors=errors, headers=headers)
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="bookstation"'
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if code == 429:
        limit = getattr(error, "limit", None)
        if limit is not None:
            response.headers["Retry-After"] = str(limit.limit.get_expiry())
    return response


def domain_problem(error: DomainError) -> Response:
    """A rule that said no: 404 for what does not exist, 422 for bad input (with the field
    when the service names one), 409 for the rest. Nothing the request did is kept."""
    _end_transaction()
    if isinstance(error, NotFound):
        return problem(404, error.message)
    if isinstance(error, InvalidInput):
        field = getattr(error, "field", None) or "_body"
        return problem(422, error.message, errors={field: [error.message]})
    return problem(409, error.message)


def unexpected_problem(error: Exception) -> Response:
    """An exception no handler knew: a 500 problem (the log has the traceback)."""
    from flask import current_app

    current_app.log_exception(error)
    return http_problem(InternalServerError())
