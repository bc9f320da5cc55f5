"""Each feature wires itself in its `init_app`: the receivers of the upward signals and the
process-wide registries (send-time checks, customer record panels, erasure hooks, the mail
sender's pass hooks) are filled by `create_app`, not by importing a module or registering some
other feature's blueprint. Each registration is idempotent.

Signals and registries live as long as the process, and the test session builds many apps, so
the `fresh_process` fixture empties them first (and puts them back afterwards): what these
tests see was done by the one `create_app` they call.
"""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
import sqlalchemy as sa

import app as app_package
from app import create_app
from app.campaigns import services as campaigns
from app.core import signals
from app.core.extensions import db
from app.crm import customers, erasure
from app.mail import cli as mail_cli
from app.mail import send_checks
from app.mail.sender import deliver_due
from app.models import OrderStatus, OutboxMail
from app.ordering.checkout import ShippingAddress, place_order
from app.ordering.orders import change_status
from tests.conftest import _make_config
from tests.factories import make_admin, make_book, make_member

D = Decimal
ADDRESS = ShippingAddress(name="Ada Reader", line1="1 Library Lane", city="Shanghai",
                          postcode="200000", country="China")
SIGNALS = (signals.member_joined, signals.book_saved, signals.order_placed,
           signals.order_status_changed, signals.survey_answered, signals.review_posted,
           signals.stock_received, signals.demand_created, signals.grade_changed,
           signals.return_requested)


@pytest.fixture
def fresh_process(monkeypatch):
    """No receiver connected and no registry filled, as in a process that built no app yet."""
    connected = {signal: list(signal.receivers_for(object())) for signal in SIGNALS}
    for signal, receivers in connected.items():
        for receiver in receivers:
            signal.disconnect(receiver)
    monkeypatch.setattr(send_checks, "_send_checks", {})
    monkeypatch.setattr(send_checks, "_batch_send_checks", {})
    monkeypatch.setattr(customers, "_PANELS", [])
    monkeypatch.setattr(erasure, "_ERASURE_HOOKS", [])
    monkeypatch.setattr(mail_cli, "SENDER_PASS_HOOKS", [])
    yield
    for signal, receivers in connected.items():
        for receiver in receivers:
            signal.connect(receiver)


@pytest.fixture
def build_app(tmp_path, sqlite_template):
    """create_app over a copy of the test schema (as the `app` fixture does)."""
    built = []

    def build(**overrides):
        path = tmp_path / f"wiring{len(built)}.db"
        shutil.copyfile(sqlite_template, path)
        built.append(create_app(_make_config(f"sqlite:///{path}", **overrides)))
        return built[-1]

    yield build
    for each in built:
        with each.app_context():
            db.engine.dispose()


def test_an_app_from_create_app_keeps_the_customer_figures_and_invites_reviews(
        fresh_process, build_app):
    app = build_app()
    with app.app_context():
        member = make_member()
        book = make_book(price=D("12.50"), stock_on_hand=5)
        db.session.commit()

        order = place_order(member, address=ADDRESS, payment_method="cod",
                            lines=[(book.id, 2)], notify=False)
        db.session.commit()
        assert (member.order_count, member.lifetime_spend) == (1, D("0.00"))
        assert member.last_order_at == order.placed_at

        change_status(order, OrderStatus.PAID)
        db.session.commit()
        assert (member.order_count, member.lifetime_spend) == (1, order.total)

        change_status(order, OrderStatus.SHIPPED)
        change_status(order, OrderStatus.DELIVERED)
        db.session.commit()
        invites = db.session.scalars(sa.select(OutboxMail.dedupe_key)
                                     .where(OutboxMail.kind == "review_invite")).all()
        assert invites == [f"review_invite:{order.id}"]


def test_building_the_app_again_connects_each_receiver_once(fresh_process, build_app):
    build_app()
    app = build_app()
    with app.app_context():
        member = make_member()
        book = make_book(price=D("10.00"), stock_on_hand=5)
        db.session.commit()
        place_order(member, address=ADDRESS, payment_method="cod", lines=[(book.id, 1)],
                    notify=False)
        db.session.commit()

        assert member.order_count == 1  # counted once, not once per app built
        assert [panel.key for panel in customers.customer_panels()] == [
            "analytics", "feedback", "returns", "cases"]


def test_the_customer_record_panels_and_erasure_of_feedback_come_from_the_crm(
        fresh_process, build_app):
    from app.api import tokens as api_tokens
    from app.feedback import reviews
    from app.returns import gdpr
    from app.support import cases

    build_app()

    assert {panel.key for panel in customers.customer_panels()} == {
        "analytics", "feedback", "returns", "cases"}
    assert erasure._ERASURE_HOOKS == [reviews.scrub_member_feedback, gdpr.scrub_member_returns,
                                       cases.scrub_member_cases, api_tokens.erase]


def test_a_detractors_case_comes_from_supports_receiver(fresh_process, build_app):
    from app.feedback import reviews
    from app.support.models import SupportCase

    app = build_app()
    with app.app_context():
        member = make_member()
        book = make_book(price=D("10.00"), stock_on_hand=5)
        db.session.commit()
        order = place_order(member, address=ADDRESS, payment_method="cod",
                            lines=[(book.id, 1)], notify=False)
        db.session.commit()
        reviews.save_survey(member.id, order.id, 2)
        reviews.save_survey(member.id, order.id, 1)

        assert db.session.scalar(sa.select(sa.func.count()).select_from(SupportCase)) == 1


def test_without_the_feedback_feature_campaign_mail_still_skips_a_member_who_opted_out(
        fresh_process, build_app, monkeypatch, smtp_inbox):
    monkeypatch.setattr(app_package, "FEATURES",
                        tuple(name for name in app_package.FEATURES if name != "feedback"))
    app = build_app(MAIL_PORT=smtp_inbox.port)
    assert "feedback" not in app.blueprints
    with app.app_context():
        admin = make_admin()
        member = make_member()
        campaign = campaigns.create(
            admin, name="Spring", subject="Hello {name}", message="Dear {name},\n\nNew books!",
            audience_kind="tier", audience_value="regular", holdout_rate=D("0"))
        db.session.commit()
        campaigns.send(campaign, admin)
        campaigns.enqueue_pending()
        member.mail_opt_in = False
        db.session.commit()

        assert deliver_due().sent == [] and smtp_inbox.messages == []
        assert db.session.scalar(sa.select(OutboxMail.status)
                                 .where(OutboxMail.kind == campaigns.KIND)) == "cancelled"


def test_each_feature_registers_the_send_checks_of_its_own_mail(fresh_process, build_app):
    build_app()

    assert set(send_checks._batch_send_checks) == {
        "stock_arrived", "stock_short", "demand_confirm",  # demand
        "review_invite",  # feedback
        campaigns.KIND,  # campaigns
    }


def test_the_features_add_their_work_to_the_mail_senders_passes(fresh_process, build_app):
    from app.campaigns.cli import enqueue_campaigns_on_sender_pass
    from app.demand.cli import expire_holds_on_sender_pass
    from app.membership.cli import prune_sign_ins_on_sender_pass
    from app.webhooks.sender import deliver_on_sender_pass

    build_app()
    build_app()

    assert mail_cli.SENDER_PASS_HOOKS == [prune_sign_ins_on_sender_pass,
                                          expire_holds_on_sender_pass,
                                          enqueue_campaigns_on_sender_pass,
                                          deliver_on_sender_pass]


def test_the_webhooks_feature_receives_the_events_it_sends_on(fresh_process, build_app):
    from app.webhooks import receivers

    build_app()
    build_app()

    expected = {
        signals.order_placed: receivers.on_order_placed,
        signals.order_status_changed: receivers.on_order_status_changed,
        signals.stock_received: receivers.on_stock_received,
        signals.demand_created: receivers.on_demand_created,
        signals.grade_changed: receivers.on_grade_changed,
        signals.return_requested: receivers.on_return_requested,
    }
    for signal, receiver in expected.items():
        assert list(signal.receivers_for(object())).count(receiver) == 1
