"""The JSON API under /api/v1: personal access tokens (`tokens`), who is calling (`auth`),
errors as problem details (`problems`), idempotency keys (`idempotency`), and the resources
(`web/`), described by an OpenAPI document generated from the code.

Built on flask-smorest: it works with the plain Flask app and blueprints the shop already has,
its marshmallow schemas both check the input (422 with the field's messages) and describe it,
and it writes the OpenAPI 3 document from the same decorators, with ETags on reads. (APIFlask
would do as well but replaces the Flask class and its error handling; flask-smorest adds
itself beside them.) Its HTML error handling for the whole app is left out: errors under
/api/v1 are problem details (app.api.problems), everything else keeps the shop's pages.

The document is at /api/v1/openapi.json; the browsable docs at /api/v1/docs are Swagger UI,
served from static/vendor/swagger-ui (no CDN), started by a script file (no inline script, so
the shop's Content-Security-Policy stands as it is).
"""

from __future__ import annotations

from flask import Flask

PREFIX = "/api/v1"

DEFAULTS = {
    "API_TITLE": "Bookstation API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    # Per token (per address for calls without one); a string Flask-Limiter reads.
    "API_RATE_LIMIT": "600 per minute",
    "API_PER_PAGE": 20,
}


def init_app(app: Flask) -> None:
    """Wire the API in: its blueprints (CSRF-exempt: no cookie counts here), its problem
    details for every error under /api/v1, the token pages for members and staff, the
    erasure of a member's tokens, and their revocation when a role change takes scopes away."""
    from app.api import tokens
    from app.api.problems import http_problem
    from app.api.web import register
    from app.core import signals
    from app.core.errors import render_errors_under
    from app.crm.erasure import register_erasure_hook

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    register(app)
    render_errors_under(app, PREFIX, http_problem)  # /api/v1 itself and all under it
    register_erasure_hook(tokens.erase)
    signals.member_role_changed.connect(tokens.on_member_role_changed)
