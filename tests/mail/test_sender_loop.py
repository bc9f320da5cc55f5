"""The sender loop (`run_sender`, as `flask dev` and `flask mail-worker` run it), issue 17.

It wakes as soon as a commit queues mail instead of at its next poll, and a background pass
that fails (campaigns, hold expiry, analytics) is logged once, retried with backoff and never
stops the other passes or the mail.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from app.core.extensions import db
from app.mail import cli as mail_commands
from app.mail import wakeup as mail_service
from app.mail.cli import PassHooks, run_sender
from app.models import OutboxMail
from tests.helpers import wait_until


def queue_one(n: int) -> None:
    db.session.add(OutboxMail(kind="test", to_email=f"reader{n}@example.test",
                              subject=f"Hello {n}", body_text="Body",
                              message_id=f"<loop-{n}@bookstation.mail>"))
    mail_service.mail_queued()
    db.session.commit()


@pytest.fixture
def sender(app) -> Iterator[callable]:
    """Starts run_sender in a thread (as `flask dev` does); stopped after the test."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(interval: float) -> None:
        thread = threading.Thread(target=run_sender, args=(app, stop, interval), daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_an_idle_sender_is_woken_by_the_commit_that_queues_mail(app, smtp_inbox, sender):
    sender(interval=60)  # polls once a minute: a mail sooner means it was woken
    with app.app_context():
        queue_one(0)
        wait_until(lambda: len(smtp_inbox.messages) == 1, 20, "the first mail")

        for n in range(1, 4):
            time.sleep(0.3)  # idle again, waiting
            queue_one(n)
            wait_until(lambda n=n: len(smtp_inbox.messages) == n + 1, 20,
                       f"mail {n} (not woken: the next poll is a minute away)")
        db.session.remove()


def test_a_stock_receipt_wakes_the_sender_for_its_arrival_mails(app, smtp_inbox, sender):
    from app.demand.stock import receive_stock
    from tests.factories import make_book, make_demand, make_member

    sender(interval=60)
    with app.app_context():
        book = make_book(stock_on_hand=0)
        make_demand(make_member(email="waiting@example.test"), book)
        db.session.commit()
        time.sleep(0.3)

        receive_stock(book.id, 1)
        db.session.commit()

        wait_until(lambda: len(smtp_inbox.messages) == 1, 20,
                   "the arrival mail (not woken: the next poll is a minute away)")
        assert smtp_inbox.messages[0][1] == ["waiting@example.test"]
        db.session.remove()


def test_a_failing_background_pass_never_stops_the_mail_or_the_other_passes(
        app, smtp_inbox, sender, monkeypatch, caplog):
    calls = {"broken": 0, "healthy": 0}

    def broken_campaign_pass() -> None:
        calls["broken"] += 1
        db.session.add(OutboxMail(kind="half", to_email="half@example.test", subject="x",
                                  body_text="b", message_id="<half@bookstation.mail>"))
        db.session.flush()
        raise RuntimeError("recommendations exploded")

    def healthy_pass() -> None:
        calls["healthy"] += 1

    monkeypatch.setattr(mail_commands, "SENDER_PASS_HOOKS", [broken_campaign_pass, healthy_pass])
    caplog.set_level(logging.DEBUG, logger="app.mail.cli")
    with app.app_context():
        queue_one(0)
    sender(interval=0.02)

    wait_until(lambda: len(smtp_inbox.messages) == 1 and calls["healthy"] >= 20, 30,
               "the mail and 20 passes of the healthy hook")

    # Retried with backoff (1 s after the first failure, then 5 s), not on every pass.
    assert calls["broken"] in (1, 2, 3), calls
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # logged once for the streak, with its traceback
    assert "broken_campaign_pass" in errors[0].getMessage() and errors[0].exc_info
    with app.app_context():  # its half-done work was rolled back, never sent
        assert db.session.query(OutboxMail).filter_by(kind="half").count() == 0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failing_pass_is_retried_after_growing_delays_and_its_recovery_is_logged_once(
        ctx, caplog):
    clock = FakeClock()
    runs: list[float] = []

    def flaky() -> None:  # down for its first four runs
        runs.append(clock.now)
        if len(runs) <= 4:
            raise RuntimeError("down")

    hooks = PassHooks([flaky], clock=clock)
    caplog.set_level(logging.DEBUG, logger="app.mail.cli")
    for _ in range(400):  # a pass every second for 400 s
        hooks.run()
        clock.now += 1

    # failed at 0, then tried again 1, 5, 15 and 60 s after each failure; works from then on
    assert [t - 1000 for t in runs[:6]] == [0, 1, 6, 21, 81, 82]
    assert len(runs) == 4 + (400 - 81)  # every pass once it works
    assert [r.levelname for r in caplog.records if r.levelno >= logging.INFO] == [
        "ERROR", "WARNING"]  # the first failure, then "works again after 4 failure(s)"
