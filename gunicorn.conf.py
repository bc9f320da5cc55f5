"""gunicorn settings for Bookstation: `gunicorn -c gunicorn.conf.py run:app` (see `make serve`).

Everything comes from the environment:

- `WEB_CONCURRENCY`: sync worker processes (default 2; about 2 x CPU cores is usual);
- `GUNICORN_BIND`, or `HOST` and `PORT`: where to listen (default 127.0.0.1:8000);
- `GUNICORN_TIMEOUT`: seconds before a stuck worker is replaced (default 30);
- `GUNICORN_MAX_REQUESTS`: recycle a worker after this many requests (default 0: never);
- `GUNICORN_ACCESS_LOG`: "-" (default) writes one JSON line per request to stdout; "" turns the
  access log off (the benchmarks do, for the app and the bare-Flask ceiling alike);
- `GUNICORN_CONTROL_SOCKET`: path of gunicorn's control socket for `gunicornc`; unset, there is
  none (several servers on one host would otherwise fight over the default path);
- `GUNICORN_PRELOAD`: "1" (default) imports the app once in the master before forking, so
  workers share its memory and start at once; the database pools are reset in each worker.

Before the app is imported, its own modules are compiled to bytecode files (`compile_app`).
"""

from __future__ import annotations

import compileall
import gc
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from gunicorn.glogging import Logger

# The app built in this process serves requests only: it skips Flask-Migrate (config SERVE_ONLY).
os.environ.setdefault("BOOKSTATION_SERVE_ONLY", "1")


def compile_app(root: Path = Path(__file__).resolve().parent) -> bool:
    """Write the bytecode files of the app's own modules (app/, config.py, run.py) that are
    missing or older than their source; True when every one is there afterwards.

    Python writes them itself on import, unless PYTHONDONTWRITEBYTECODE is set (as container
    images and some hosts do): then every start compiled the app's ~270 modules from source
    again and kept nothing, about a quarter of the time from start to first page
    (bench/README.md). compileall writes them whatever that setting; files that are up to
    date are only checked. Where the checkout is read-only nothing is written and the server
    starts as before (compiling in memory)."""
    done = compileall.compile_dir(root / "app", quiet=2)
    for name in ("config.py", "run.py"):
        done = compileall.compile_file(root / name, quiet=2) and done
    return bool(done)


compile_app()  # in the master, before it imports the app (preload_app) and forks

_host = os.environ.get("HOST", "127.0.0.1")
_port = os.environ.get("PORT", "8000")
bind = os.environ.get("GUNICORN_BIND") or f"{_host}:{_port}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 2
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "bookstation"
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
# Only trust X-Forwarded-* from the proxies the app is told about (TRUST_PROXY_HOPS, ProxyFix).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


class JsonAccessLogger(Logger):
    """gunicorn's logger writing JSON lines: one per request (access) and per server event."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        from app.serving.observability import JsonFormatter

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.cfg.accesslog and not self.cfg.logconfig and not self.cfg.logconfig_dict:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "remote": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:
            self.exception("could not write the access log")


logger_class = JsonAccessLogger


def pre_fork(server, worker) -> None:
    """Python's advice for a pre-fork server (the `gc.freeze` docs): what the master built (the
    preloaded app) goes to the collector's permanent generation before forking, so no worker's
    collection walks it again or copies its pages."""
    gc.freeze()


def post_worker_init(worker) -> None:
    """The same for what the worker holds once it is ready: it lives as long as the worker.
    Without this a full collection, every few thousand requests, walked the whole app and
    stopped one request for 100-130 ms: the slowest 1 % of every page (bench/README.md)."""
    gc.freeze()


def post_fork(server, worker) -> None:
    """A preloaded app's connection pools must not be shared across processes: start afresh."""
    if not preload_app:
        return
    from app.core.extensions import db

    flask_app = server.app.wsgi()
    if "sqlalchemy" not in getattr(flask_app, "extensions", {}):
        return  # e.g. the benchmarks' bare-Flask ceiling
    with flask_app.app_context():
        db.engine.dispose(close=False)
