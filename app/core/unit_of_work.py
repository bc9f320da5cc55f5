"""The request's unit of work: one transaction per request, committed once if the view succeeded,
rolled back otherwise. Views and services never commit; this module does, in one place.

Contract:
- A request whose method may change state (POST, PUT, PATCH, DELETE) is committed after its view
  returns a response below 400. Any other outcome (an error status, an exception, a safe method)
  leaves the changes to the session's teardown, which rolls them back.
- A view that shows a form again because a service refused (a `DomainError` caught by the view)
  answers with an error status (`form_status`, 400, 409, 422), so the refused work is rolled back
  with nothing more to write.
- A `DomainError` that leaves a view is rolled back, its message flashed, and the reader sent
  back (303) to the page the view names with `@back_on_error(...)`, else to the same path.
  Requests that ask for JSON get `{"error": message}` with status 409 instead.
- Work that must wait until the changes are durable (forgetting cached pages, telling other
  processes) is handed to `after_commit(fn)`: it runs once the commit succeeded, in the order
  given, and never if the request is rolled back or fails to commit.
- A commit that fails is an error of the request (500 after the session is rolled back); what
  the view flashed is not saved.
- Code that must commit earlier (a streamed response whose audit entry is written before the
  first byte) calls `commit_now()`, which runs the pending after-commit work too.
- Outside a request (a `flask` command), `with committed():` is the unit of work: the block's
  changes are committed if it ends normally and rolled back if it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from flask import Flask, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response

from app.core.errors import DomainError
from app.core.extensions import db

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BACK = "_back_on_error"


def init_app(app: Flask) -> None:
    """Register the commit and the DomainError handler. Call it after every other after_request
    hook is registered: Flask runs the last registered first, so the commit comes before the
    response is post-processed."""
    app.after_request(_commit_if_succeeded)
    app.register_error_handler(DomainError, _refused)


def after_commit(callback: Callable[[], Any]) -> None:
    """Run `callback` once this request's changes are committed (never if they are not)."""
    g.setdefault("after_commit", []).append(callback)


def commit_now() -> None:
    """Commit the request's work at once (and run what waits for it); the request's own commit
    at the end then has nothing left to write."""
    db.session.commit()
    _run_after_commit()


@contextmanager
def committed() -> Iterator[None]:
    """A command's unit of work: commit what the block did, or roll it back if it raised."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def back_on_error(endpoint: str | Callable[..., str]) -> Callable:
    """Name where a reader is sent when a DomainError leaves the view: an endpoint (built with
    the request's own URL values) or a function of those values returning a URL."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        setattr(wrapper, _BACK, endpoint)
        return wrapper

    return decorate


def _commit_if_succeeded(response: Response) -> Response:
    if request.method in UNSAFE_METHODS and response.status_code < 400:
        commit_now()
    else:
        g.pop("after_commit", None)
    return response


def _run_after_commit() -> None:
    for callback in g.pop("after_commit", []):
        callback()


def _refused(error: DomainError):
    db.session.rollback()
    g.pop("after_commit", None)
    if request.accept_mimetypes.best == "application/json":
        return {"error": error.message}, 409
    flash(error.message, "error")
    return redirect(_back_url(), 303)


def _back_url() -> str:
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    back = getattr(view, _BACK, None)
    values = dict(request.view_args or {})
    if callable(back):
        return back(**values)
    if back:
        return url_for(back, **{key: value for key, value in values.items()
                                if key in _arguments(back)})
    return request.path


def _arguments(endpoint: str) -> set[str]:
    from flask import current_app

    rules = current_app.url_map.iter_rules(endpoint)
    return {argument for rule in rules for argument in rule.arguments}
