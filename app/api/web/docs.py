"""The browsable docs at /api/v1/docs: Swagger UI from static/vendor/swagger-ui (no CDN),
started by static/js/api-docs.js (no inline script: the shop's CSP stands)."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

bp = Blueprint("api_docs", __name__)


@bp.route("/api/v1/docs")
def docs():
    return render_template("api/docs.html")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
