"""Domain errors, and how HTTP errors are shown."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from app.core.extensions import db

#: Set on `g` while the error page of a failure (5xx) renders: a reader of the database that
#: the page needs (the logged-in member, for the header and the language) does without it when
#: the database fails again, instead of failing the error page too (`rendering_error_page`).
RENDERING_ERROR_PAGE = "rendering_error_page"


def rendering_error_page() -> bool:
    """Whether this request is rendering the error page of a failure."""
    return bool(g.get(RENDERING_ERROR_PAGE))


class DomainError(Exception):
    """A business rule said no. The message is safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class InvalidInput(DomainError):
    pass


def render_errors_under(app: Flask, prefix: str, renderer: Callable[[HTTPException], object]
                        ) -> None:
    """HTTP errors of requests whose path is `prefix` (no trailing slash) or lies under it are
    answered by `renderer`
    (the API's problem details), also those no view saw (a path or method that matched no
    route); the rest keep the shop's pages."""
    renderers = app.extensions.setdefault("bookstation.error_renderers", [])
    renderers.append((prefix, renderer))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        for prefix, renderer in app.extensions.get("bookstation.error_renderers", ()):
            if request.path == prefix or request.path.startswith(prefix + "/"):
                return renderer(error)
        code = error.code or 500
        if request.accept_mimetypes.best == "application/json":
            return {"error": error.name, "description": error.description}, code
        if code >= 500:
            _roll_back()  # the page below may read the database (the header's cart badge)
            setattr(g, RENDERING_ERROR_PAGE, True)
        known = (400, 403, 404, 429, 500)
        template = f"errors/{code}.html" if code in known else "errors/generic.html"
        return render_template(template, error=error, title=_(error.name)), code


def _roll_back() -> None:
    """End a failed transaction so an error page can still read (or be shown without) data."""
    try:
        db.session.rollback()
    except Exception:  # the database itself is gone: the page renders without it
        pass
