"""Production plumbing: structured logs on stdout, `/healthz`, and trusting a reverse proxy.

- `configure_logging(app)`: with `LOG_FORMAT=json` (the production default) every log record,
  the app's and the libraries', is one JSON object a line on stdout, where a process manager or
  a log shipper collects it. Otherwise Flask's own handler is left as it is.
- `/healthz` (endpoint `health.healthz`): `SELECT 1` on the database; 200 with
  `{"status": "ok", ...}` or 503 with `{"status": "unavailable", ...}`. No login, no rate limit,
  no session cookie, never cached; for load balancers and orchestrators.
- `TRUST_PROXY_HOPS=N`: behind N proxies, take the client address, scheme and host from the
  X-Forwarded-* headers they set (werkzeug's ProxyFix), so rate limits and secure cookies see
  the real client.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, has_request_context, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.core.extensions import db, limiter

log = logging.getLogger(__name__)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged too.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request and any `extra=`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["method"] = request.method
            entry["path"] = request.path
            entry["remote"] = request.remote_addr
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is at the time (it may be replaced after start-up)."""

    _bookstation_json = True

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        return None


def configure_logging(app: Flask) -> None:
    """JSON lines on stdout for the whole process when LOG_FORMAT is "json"."""
    level = logging.getLevelName(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    if app.config.get("LOG_FORMAT") != "json":
        return
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_bookstation_json", False)]:
        root.removeHandler(old)  # create_app called twice in one process: one handler
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    # Flask's default handler writes plain text to stderr; records now go to the root handler.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)


def trust_proxy(app: Flask) -> None:
    hops = int(app.config.get("TRUST_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_prefix=hops)  # type: ignore[method-assign]


# --------------------------------------------------------------------------- health

health = Blueprint("health", __name__)


@health.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    began = time.perf_counter()
    try:
        db.session.execute(sa.select(sa.literal(1))).scalar_one()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: database unavailable: %s", exc.__class__.__name__)
        body = {"status": "unavailable", "database": "unreachable"}
        status = 503
    else:
        body = {"status": "ok", "database": "ok"}
        status = 200
    body["elapsed_ms"] = round((time.perf_counter() - began) * 1000, 2)
    response = current_app.json.response(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status


def register(app: Flask) -> None:
    configure_logging(app)
    trust_proxy(app)
    app.register_blueprint(health)
