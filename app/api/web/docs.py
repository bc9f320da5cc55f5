"""The browsable docs at /api/v1/docs: Swagger UI from static/vendor/swagger-ui (no CDN),
started by static/js/api-docs.js (no inline script).

The page keeps the shop's Content-Security-Policy with one addition: Swagger UI's stylesheet
draws its icons as `data:` images, so this page (and only this page) allows `img-src data:`.
The security headers middleware keeps a policy a view sets itself."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template

from app.serving.security_headers import CONTENT_SECURITY_POLICY

bp = Blueprint("api_docs", __name__)


def docs_policy(policy: str) -> str:
    """The shop's policy, with `data:` images allowed."""
    return "; ".join(part + " data:" if part.strip().startswith("img-src") else part
                     for part in policy.split("; "))


@bp.route("/api/v1/docs")
def docs():
    response = current_app.make_response(render_template("api/docs.html"))
    policy = current_app.config.get("CONTENT_SECURITY_POLICY") or CONTENT_SECURITY_POLICY
    response.headers["Content-Security-Policy"] = docs_policy(policy)
    return response


def register(app: Flask) -> None:
    app.register_blueprint(bp)
