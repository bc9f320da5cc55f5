"""Webhook fixtures: a real HTTP receiver on 127.0.0.1 (http.server in a thread) that keeps
every POST and can be stopped and started again on the same port, and endpoints."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core.extensions import db
from app.webhooks.events import EVENT_TYPES
from app.webhooks.models import WebhookEndpoint
from app.webhooks.signing import new_secret, verify
from tests.helpers import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What a shop's partner runs: it answers `status` to every POST and keeps each one."""

    port: int
    status: int = 204
    # With a `victim` process: on the `kill_at`-th POST it is killed (SIGKILL) before the
    # answer goes back, so it dies with the request sent but its answer never read.
    kill_at: int = 0
    victim: object = None
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()),
                                                      body))
                    if receiver.victim is not None and len(receiver.received) == \
                            receiver.kill_at:
                        os.kill(receiver.victim.pid, signal.SIGKILL)
                        receiver.victim.wait()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def event_ids(self) -> list[str]:
        return [r.headers["Bookstation-Delivery"] for r in self.received]

    def all_signed_with(self, secret: str) -> bool:
        return all(verify(secret, r.body, r.headers.get("Bookstation-Signature"),
                          tolerance=None) for r in self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(port=free_port())
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def make_endpoint(url: str, events=EVENT_TYPES, *, active: bool = True,
                  description: str | None = None) -> WebhookEndpoint:
    """An endpoint (flushed) with a fresh secret, subscribed to `events`."""
    endpoint = WebhookEndpoint(url=url, events=list(events), secret=new_secret(),
                               active=active, description=description)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint
