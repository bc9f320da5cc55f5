"""The webhook sender against a real HTTP receiver on 127.0.0.1: signed POSTs, delivered once;
an endpoint down for minutes gets every event once it is back; retries, giving up, replay."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.extensions import db
from app.demand.stock import receive_stock
from app.webhooks import deliveries
from app.webhooks.events import STOCK_RECEIVED, queue_event
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from app.webhooks.sender import deliver_due
from app.webhooks.signing import signature_header, verify
from tests.factories import make_admin, make_book
from tests.helpers import free_port
from tests.webhooks.conftest import make_endpoint


def rows() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_delivery_is_posted_signed_and_recorded(ctx, receiver):
    endpoint = make_endpoint(receiver.url)
    secret = endpoint.secret
    book = make_book(stock_on_hand=0)
    receive_stock(book.id, 2)
    db.session.commit()

    report = deliver_due()

    assert len(report.delivered) == 1
    [got] = receiver.received
    [row] = rows()
    assert got.path == "/hooks"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Bookstation-Event"] == STOCK_RECEIVED
    assert got.headers["Bookstation-Delivery"] == row.event_id
    assert got.body == row.payload.encode()  # byte for byte what was queued
    assert verify(secret, got.body, got.headers["Bookstation-Signature"])
    assert not verify("whsec_wrong", got.body, got.headers["Bookstation-Signature"])
    assert json.loads(got.body)["data"]["receipt"]["book_id"] == book.id
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1,
                                                                 204)
    assert row.delivered_at is not None and row.claimed_until is None

    assert deliver_due().claimed == 0  # nothing is sent twice
    assert len(receiver.received) == 1


def test_the_signature_is_hmac_sha256_of_the_timestamp_and_the_body():
    import hashlib
    import hmac

    header = signature_header("whsec_x", b'{"a":1}', timestamp=1700000000)

    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("whsec_x", b'{"a":1}', header, now=1700000100)
    assert not verify("whsec_x", b'{"a":1}', header, now=1700000000 + 301)  # too old
    assert not verify("whsec_x", b'{"a":2}', header, now=1700000000)


def test_an_endpoint_down_for_minutes_gets_every_event_once_it_is_back(ctx, receiver):
    endpoint = make_endpoint(receiver.url)
    secret = endpoint.secret
    receiver.stop()  # down
    start = utcnow()
    for n in range(3):
        queue_event(STOCK_RECEIVED, {"receipt": {"id": n}}, now=start)
    db.session.commit()

    first = deliver_due(now=start)
    # One attempt fails (connection refused); the endpoint's other events wait with it.
    assert len(first.failed) == 1 and len(first.waiting) == 2
    later = start
    for minutes in (1, 3, 14):  # still down at each retry
        later = start + timedelta(minutes=minutes)
        report = deliver_due(now=later)
        assert not report.delivered
    assert all(row.status == DeliveryStatus.PENDING for row in rows())
    assert receiver.received == []

    receiver.start()  # back, on the same port
    back = later + timedelta(hours=1)
    report = deliver_due(now=back)

    assert len(report.delivered) == 3
    queued = [row.event_id for row in rows()]
    assert receiver.event_ids() == queued  # each once, in the order of the events
    assert receiver.all_signed_with(secret)
    assert all(row.status == DeliveryStatus.DELIVERED for row in rows())
    assert deliver_due(now=back + timedelta(days=1)).claimed == 0
    assert len(receiver.received) == 3


def test_a_refusing_endpoint_is_retried_with_backoff_then_given_up(ctx, receiver):
    make_endpoint(receiver.url)
    receiver.status = 500
    start = utcnow()
    queue_event(STOCK_RECEIVED, {"receipt": {"id": 1}}, now=start)
    db.session.commit()

    deliver_due(now=start)
    [row] = rows()
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert row.next_attempt_at - start >= timedelta(seconds=30)
    assert deliver_due(now=start + timedelta(seconds=10)).claimed == 0  # not due yet

    deliver_due(now=start + timedelta(hours=25))  # past the give-up age

    [row] = rows()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 2
    assert "HTTP 500" in row.last_error


def test_a_sender_that_died_mid_delivery_leaves_it_to_the_next_once_the_lease_lapses(
        ctx, receiver):
    make_endpoint(receiver.url)
    queue_event(STOCK_RECEIVED, {"receipt": {"id": 1}})
    db.session.commit()
    from app.mail.sender_db import sender_connection
    from app.webhooks.sender import claim

    now = utcnow()
    with sender_connection() as connection:
        [claimed] = claim(connection, 10, now, now + timedelta(seconds=120))
    assert rows()[0].status == DeliveryStatus.SENDING
    assert deliver_due(now=now + timedelta(seconds=60)).claimed == 0  # still leased

    report = deliver_due(now=now + timedelta(seconds=121))

    assert report.delivered == [claimed.id]
    assert len(receiver.received) == 1


def test_replaying_sends_the_same_event_again_and_is_audited(ctx, receiver):
    endpoint = make_endpoint(receiver.url)
    admin = make_admin()
    queue_event(STOCK_RECEIVED, {"receipt": {"id": 1}})
    db.session.commit()
    deliver_due()
    [row] = rows()

    deliveries.replay(endpoint.id, row.id, admin)
    db.session.commit()
    deliver_due()

    first, again = receiver.received
    assert first.body == again.body
    assert first.headers["Bookstation-Delivery"] == again.headers["Bookstation-Delivery"]
    [row] = rows()
    assert row.status == DeliveryStatus.DELIVERED and row.requeued_at is not None
    entry = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "webhook.replay")).one()
    assert entry.actor_id == admin.id and entry.target_id == row.id


def test_a_disabled_endpoints_deliveries_wait_until_it_is_enabled(ctx, receiver):
    endpoint = make_endpoint(receiver.url)
    queue_event(STOCK_RECEIVED, {"receipt": {"id": 1}})
    endpoint.active = False
    db.session.commit()

    assert deliver_due().claimed == 0

    endpoint.active = True
    db.session.commit()
    assert len(deliver_due().delivered) == 1


def test_the_send_command_delivers_what_is_due(app, receiver):
    with app.app_context():
        make_endpoint(receiver.url)
        queue_event(STOCK_RECEIVED, {"receipt": {"id": 1}})
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["webhooks", "send", "--once"])

    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output
    assert len(receiver.received) == 1


def test_the_mail_senders_pass_delivers_webhooks_too(ctx, receiver):
    from app.mail.cli import PassHooks

    make_endpoint(receiver.url)
    queue_event(STOCK_RECEIVED, {"receipt": {"id": 1}})
    db.session.commit()

    PassHooks().run()

    assert len(receiver.received) == 1


def test_an_idle_webhook_sender_is_woken_by_the_commit_that_queues_an_event(app, receiver):
    import threading

    from app.mail.cli import PassHooks, run_sender
    from tests.helpers import wait_until

    with app.app_context():
        make_endpoint(receiver.url)
        db.session.commit()
    stop = threading.Event()
    # Polls once a minute: an event delivered sooner means the commit woke the sender.
    thread = threading.Thread(target=run_sender, args=(app, stop, 60),
                              kwargs={"deliver": deliver_due, "hooks": PassHooks([])},
                              daemon=True)
    thread.start()
    try:
        for n in range(3):
            with app.app_context():
                queue_event(STOCK_RECEIVED, {"receipt": {"id": n}})
                db.session.commit()
            wait_until(lambda n=n: len(receiver.received) == n + 1, 20, f"event {n}")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(set(receiver.event_ids())) == 3


def _dribbling_receiver(port: int, hits: list) -> socket.socket:
    """A receiver that reads the POST, then sends its answer's headers one byte every 0.2 s
    (for 8 s): each read gets something, so only a deadline on the whole POST ends it."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(5)

    def answer(conn):
        hits.append(time.monotonic())
        conn.recv(65536)
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: " + b"a" * 40
        try:
            for byte in head:
                conn.sendall(bytes([byte]))
                time.sleep(0.2)
            conn.sendall(b"\r\n\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def serve():
        while True:
            try:
                conn, _address = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_a_receiver_dribbling_its_answer_is_cut_off_at_the_timeout_and_posted_once(app, ctx):
    app.config.update(WEBHOOK_TIMEOUT=1, WEBHOOK_CLAIM_SECONDS=4)
    port, hits = free_port(), []
    server = _dribbling_receiver(port, hits)
    make_endpoint(f"http://127.0.0.1:{port}/hooks")
    queue_event(STOCK_RECEIVED, {"n": 1})
    db.session.commit()
    reports, took = [], []

    def first_sender():
        with app.app_context():
            began = time.monotonic()
            reports.append(deliver_due())
            took.append(time.monotonic() - began)

    try:
        thread = threading.Thread(target=first_sender)
        thread.start()
        time.sleep(0.5)
        with app.app_context():  # another sender, while the first POST is on the wire
            reports.append(deliver_due())
        thread.join(10)
        time.sleep(4.5)  # past the first claim's lease
        with app.app_context():
            reports.append(deliver_due())
    finally:
        server.close()

    assert len(hits) == 1  # one POST, never two at once
    assert took[0] < 2.5  # the POST ended at its 1 s timeout, not when the receiver finished
    assert sorted(len(r.failed) for r in reports) == [0, 0, 1]
    [row] = rows()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1  # to be retried
    assert "within 1 s" in row.last_error


def test_a_dead_endpoint_holds_up_a_mail_senders_pass_no_longer_than_its_budget(
        app, ctx, smtp_inbox):
    from app.mail.cli import PassHooks
    from app.mail.sender import deliver_due as deliver_mail
    from app.models import OutboxMail
    from app.webhooks.sender import deliver_on_sender_pass

    app.config.update(WEBHOOK_TIMEOUT=10, WEBHOOK_PASS_SECONDS=1)
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(20)
    try:
        make_endpoint(f"http://127.0.0.1:{silent.getsockname()[1]}/hooks")
        for n in range(3):
            queue_event(STOCK_RECEIVED, {"n": n})
        db.session.add(OutboxMail(kind="test", to_email="reader@example.test",
                                  subject="Your password reset", body_text="Body",
                                  message_id="<budget@bookstation.mail>"))
        db.session.commit()
        began = time.monotonic()

        PassHooks([deliver_on_sender_pass]).run()
        deliver_mail()

        took = time.monotonic() - began
    finally:
        silent.close()
    assert len(smtp_inbox.messages) == 1
    assert took < 2.5  # the hook's 1 s budget, not the 10 s timeout (nor three of them)
    statuses = sorted((r.status.value, r.attempts) for r in rows())
    assert statuses == [("pending", 0), ("pending", 0), ("pending", 1)]


def test_of_a_refusing_answer_only_the_status_and_200_characters_are_kept(ctx):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Talkative(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<html>" + b"internal detail " * 1000
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Talkative)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        make_endpoint(f"http://127.0.0.1:{server.server_address[1]}/hooks")
        queue_event(STOCK_RECEIVED, {"n": 1})
        db.session.commit()
        deliver_due()
    finally:
        server.shutdown()
        server.server_close()

    [row] = rows()
    assert row.last_status_code == 500
    assert row.last_error.startswith("HTTP 500 Internal Server Error: <html>internal detail")
    assert len(row.last_error) <= 240
