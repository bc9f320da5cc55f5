"""Fair sharing: first asked, first served; held copies wait for their reader, then pass on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.demand import holds, tokens
from app.demand import lists as demand_service
from app.demand.stock import receive_stock
from app.models import Book, Demand, DemandStatus, Hold, HoldStatus, OutboxMail, Tier
from app.ordering.checkout import OutOfStock, ShippingAddress, place_order
from app.ordering.held import put_held_in_cart
from tests.factories import make_book, make_demand, make_member

ADDRESS = ShippingAddress(name="A", line1="1 St", city="C", postcode="1", country="X")


def queue(book, *quantities, start=None):
    """Members asking for the book in this order (one minute apart)."""
    start = start or utcnow() - timedelta(days=1)
    return [make_demand(make_member(), book, quantity=q, created_at=start + timedelta(minutes=i))
            for i, q in enumerate(quantities)]


def status(demand) -> DemandStatus:
    return db.session.scalar(sa.select(Demand.status).where(Demand.id == demand.id))


def mailed(kind: str = "stock_arrived") -> list[str]:
    return list(db.session.scalars(
        sa.select(OutboxMail.to_email).where(OutboxMail.kind == kind).order_by(OutboxMail.id)))


def stock_of(book) -> int:
    return db.session.scalar(sa.select(Book.stock_on_hand).where(Book.id == book.id))


def test_fewer_copies_than_asked_are_served_in_the_order_members_asked(ctx):
    book = make_book(stock_on_hand=0)
    first, second, third = queue(book, 2, 2, 1)
    db.session.commit()

    result = receive_stock(book.id, 3)
    db.session.commit()

    assert result.held == 3 and result.shelved == 0 and result.unserved == 1
    held = {h.demand_id: h.quantity for h in db.session.scalars(sa.select(Hold))}
    assert held == {first.id: 2, second.id: 1}
    assert [status(d) for d in (first, second, third)] == [
        DemandStatus.NOTIFIED, DemandStatus.NOTIFIED, DemandStatus.OPEN]
    assert mailed() == [first.member.email, second.member.email]
    assert mailed("stock_short") == []  # by default the rest simply keep waiting
    assert stock_of(book) == 0


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"DEMAND_TELL_UNSERVED": True}], indirect=True)
def test_members_not_reached_are_told_honestly_when_configured(ctx):
    book = make_book(stock_on_hand=0)
    first, second = queue(book, 1, 1)
    db.session.commit()

    receive_stock(book.id, 1)
    db.session.commit()

    assert mailed() == [first.member.email]
    assert mailed("stock_short") == [second.member.email]
    body = db.session.scalar(sa.select(OutboxMail.body_text)
                             .where(OutboxMail.kind == "stock_short"))
    assert "fewer than readers asked for" in body and "stay on the list" in body
    assert status(second) == DemandStatus.OPEN


@pytest.mark.parametrize("app_config", [{"DEMAND_PRIORITY_BY_GRADE": True}], indirect=True)
def test_with_priority_by_grade_higher_grades_are_served_first(ctx):
    db.session.add_all([
        Tier(code="regular", name="Regular", min_spend=Decimal("0"),
             discount_rate=Decimal("0"), position=0),
        Tier(code="gold", name="Gold", min_spend=Decimal("1000"),
             discount_rate=Decimal("0.05"), position=2),
    ])
    book = make_book(stock_on_hand=0)
    early, late = queue(book, 1, 1)
    late.member.tier_code = "gold"
    db.session.commit()

    receive_stock(book.id, 1)
    db.session.commit()

    assert mailed() == [late.member.email]
    assert status(early) == DemandStatus.OPEN


@pytest.mark.parametrize("app_config", [{"DEMAND_MIN_NOTIFY_QUANTITY": 3}], indirect=True)
def test_an_arrival_below_the_minimum_notifies_no_one(ctx):
    book = make_book(stock_on_hand=0)
    [demand] = queue(book, 1)
    db.session.commit()

    receive_stock(book.id, 2)
    db.session.commit()

    assert mailed() == [] and status(demand) == DemandStatus.OPEN and stock_of(book) == 2


@pytest.mark.parametrize("app_config", [{"DEMAND_HOLD_HOURS": 0}], indirect=True)
def test_without_holds_everyone_is_told_and_the_copies_go_on_the_shelf(ctx):
    book = make_book(stock_on_hand=0)
    queue(book, 2, 2, 2)
    db.session.commit()

    result = receive_stock(book.id, 3)
    db.session.commit()

    assert result.notified == 3 and len(mailed()) == 3 and stock_of(book) == 3


def test_held_copies_are_not_sold_to_someone_else(ctx):
    book = make_book(stock_on_hand=0)
    queue(book, 1)
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()

    with pytest.raises(OutOfStock):
        place_order(make_member(), address=ADDRESS, payment_method="cod", lines=[(book.id, 1)])
    db.session.rollback()


def test_a_lapsed_hold_passes_its_copies_to_the_next_in_line_who_is_then_told(ctx):
    book = make_book(stock_on_hand=0)
    first, second = queue(book, 1, 1)
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()

    lapsed = holds.expire_holds(now=utcnow() + timedelta(hours=49))
    db.session.commit()

    assert lapsed == 1
    assert status(first) == DemandStatus.EXPIRED
    assert status(second) == DemandStatus.NOTIFIED
    assert mailed() == [first.member.email, second.member.email]
    active = db.session.scalar(sa.select(Hold).where(Hold.status == HoldStatus.ACTIVE))
    assert active.demand_id == second.id and active.quantity == 1
    assert stock_of(book) == 0


def test_a_lapsed_hold_with_nobody_waiting_goes_back_on_the_shelf(ctx):
    book = make_book(stock_on_hand=0)
    queue(book, 2)
    db.session.commit()
    receive_stock(book.id, 2)
    db.session.commit()

    holds.expire_holds(now=utcnow() + timedelta(hours=49))
    db.session.commit()

    assert stock_of(book) == 2 and len(mailed()) == 1


def test_a_hold_still_running_is_not_expired(ctx):
    book = make_book(stock_on_hand=0)
    queue(book, 1)
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()

    assert holds.expire_holds(now=utcnow() + timedelta(hours=47)) == 0


def test_cancelling_a_notified_demand_hands_its_copies_on_at_once(ctx):
    book = make_book(stock_on_hand=0)
    first, second = queue(book, 1, 1)
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()

    demand_service.cancel_demand(first.member, first.id)
    db.session.commit()

    assert status(second) == DemandStatus.NOTIFIED
    assert mailed() == [first.member.email, second.member.email]


def test_the_holder_buys_their_held_copy_even_though_the_shelf_is_empty(ctx):
    book = make_book(stock_on_hand=0)
    [demand] = queue(book, 2)
    db.session.commit()
    receive_stock(book.id, 2)
    db.session.commit()

    hold_id = db.session.scalar(sa.select(Hold.id))
    put_held_in_cart(demand.member, hold_id)
    order = place_order(demand.member, address=ADDRESS, payment_method="cod")
    db.session.commit()

    assert [line.quantity for line in order.lines] == [2]
    assert (order.lines[0].title, order.lines[0].unit_price) == (book.title, book.price)
    assert status(demand) == DemandStatus.FULFILLED


def test_the_expire_holds_command_passes_lapsed_copies_on(app, runner):
    with app.app_context():
        book = make_book(stock_on_hand=0)
        queue(book, 1)
        db.session.commit()
        receive_stock(book.id, 1)
        db.session.execute(sa.update(Hold).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        book_id = book.id

    result = runner.invoke(args=["demand", "expire-holds"])

    assert result.exit_code == 0 and "1 hold(s) lapsed" in result.output
    with app.app_context():
        assert db.session.get(Book, book_id).stock_on_hand == 1


def test_the_mail_sender_loop_expires_holds_on_its_passes(app):
    import threading
    import time

    from app.demand import cli as demand_commands
    from app.mail.cli import run_sender

    with app.app_context():
        book = make_book(stock_on_hand=0)
        queue(book, 1)
        db.session.commit()
        receive_stock(book.id, 1)
        db.session.execute(sa.update(Hold).values(expires_at=utcnow() - timedelta(minutes=1)))
        # no SMTP server here: mark the arrival mail sent so the pass has nothing to deliver
        db.session.execute(sa.update(OutboxMail).values(status="sent"))
        db.session.commit()
        book_id = book.id
    demand_commands._last_run["at"] = 0.0
    stop = threading.Event()
    sender = threading.Thread(target=run_sender, args=(app, stop, 0.05))
    sender.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with app.app_context():
                if db.session.get(Book, book_id).stock_on_hand == 1:
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        sender.join(timeout=5)

    with app.app_context():
        assert db.session.get(Book, book_id).stock_on_hand == 1


def test_a_visitor_who_unsubscribes_hands_their_held_copy_to_the_next_in_line(ctx):
    from app.demand import unsubscribe

    book = make_book(stock_on_hand=0)
    visitor = make_demand(None, book, email="v@example.test", quantity=1,
                          created_at=utcnow() - timedelta(days=2))
    visitor.confirmed_at = utcnow() - timedelta(days=2)
    [member] = queue(book, 1)
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()
    assert status(visitor) == DemandStatus.NOTIFIED and status(member) == DemandStatus.OPEN

    unsubscribe.unsubscribe(tokens.token_for_email("v@example.test"))
    db.session.commit()

    assert status(visitor) == DemandStatus.CANCELLED
    assert status(member) == DemandStatus.NOTIFIED
    assert mailed() == ["v@example.test", member.member.email]
    [active] = db.session.scalars(sa.select(Hold).where(Hold.status == HoldStatus.ACTIVE))
    assert active.demand_id == member.id


def test_a_deactivated_account_is_skipped_and_the_copy_goes_to_the_next_in_line(ctx):
    book = make_book(stock_on_hand=0)
    closed, waiting = queue(book, 1, 1)
    closed.member.is_active_account = False
    db.session.commit()

    result = receive_stock(book.id, 1)
    db.session.commit()

    assert result.notified == 1 and result.held == 1
    assert status(closed) == DemandStatus.OPEN and status(waiting) == DemandStatus.NOTIFIED
    assert mailed() == [waiting.member.email]


def test_many_holds_lapsing_at_once_pass_their_copies_on_in_order_in_one_go(ctx):
    book = make_book(stock_on_hand=0)
    first = queue(book, 1, 2, 1)
    db.session.commit()
    receive_stock(book.id, 4)
    db.session.commit()
    later = queue(book, 1, 1, 1, start=utcnow() - timedelta(hours=1))
    db.session.commit()

    lapsed = holds.expire_holds(now=utcnow() + timedelta(hours=49))
    db.session.commit()

    assert lapsed == 3
    assert [status(d) for d in first] == [DemandStatus.EXPIRED] * 3
    assert [status(d) for d in later] == [DemandStatus.NOTIFIED] * 3  # 4 copies, 3 readers
    assert stock_of(book) == 1
    assert mailed()[3:] == [d.member.email for d in later]
    active = db.session.scalars(sa.select(Hold).where(Hold.status == HoldStatus.ACTIVE)).all()
    assert sorted(h.demand_id for h in active) == sorted(d.id for d in later)
    assert holds.expire_holds(now=utcnow() + timedelta(hours=49)) == 0  # nothing twice
