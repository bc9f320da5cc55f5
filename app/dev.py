"""`flask dev`: the embedded default in one process: shop, mail catcher and mail sender."""

from __future__ import annotations

import os
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from app.mail.catcher import port_in_use, start_catcher
from app.mail.cli import run_sender


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def dev(host: str, port: int) -> None:
    """Serve the shop with a local mail catcher and a mail sender running beside it."""
    app = current_app._get_current_object()
    if not os.environ.get("SHOP_BASE_URL"):  # links in mail point here; an explicit one wins
        app.config["SHOP_BASE_URL"] = served_url(host, port)
    mail_host, mail_port = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    catcher = None
    if mail_host in {"127.0.0.1", "localhost"} and not port_in_use("127.0.0.1", mail_port):
        catcher = start_catcher(app.config["MAIL_CATCHER_DIR"], port=mail_port)
        click.echo(f" * Mail catcher on 127.0.0.1:{mail_port} (read it at /admin/mail/catcher)")
    stop = threading.Event()
    sender = threading.Thread(target=run_sender, args=(app, stop), name="mail-sender",
                              daemon=True)
    sender.start()
    click.echo(" * Mail sender running (wakes when mail is queued)")
    try:
        # Not app.run(): Flask ignores that inside a `flask` command.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        stop.set()
        sender.join(timeout=5)
        if catcher is not None:
            catcher.stop()


def served_url(host: str, port: int) -> str:
    """The address a reader on this machine opens for `host`:`port` (a wildcard host is
    reached over the loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
