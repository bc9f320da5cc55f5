"""The embedded mail catcher: a real SMTP server on 127.0.0.1 that keeps what it receives.

`make run` starts it so the shop's mail really travels over SMTP without any outside service.
Every message is saved as an .eml file in MAIL_CATCHER_DIR, where staff read it in the admin.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class MaildirHandler:
    """aiosmtpd handler: one .eml file per message, named so that names sort by arrival."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            name = f"{time.time_ns()}-{next(self._counter):06d}.eml"
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.replace(path)  # readers never see half a message
        return "250 Message accepted for delivery"


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def start_catcher(directory: str | Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
