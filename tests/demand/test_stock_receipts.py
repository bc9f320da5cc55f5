"""Stock arrivals: stock rises and every waiting reader gets one mail in the outbox, at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.db import utcnow
from app.core.errors import NotFound
from app.core.extensions import db
from app.demand import lists as demand_service
from app.demand import reports, stock
from app.demand.stock import ReceiptFieldError, receive_stock
from app.models import Book, DemandStatus, Hold, MailStatus, OutboxMail, StockReceipt
from app.ordering import cart
from tests.factories import make_book, make_demand, make_member, make_staff


def outbox(kind: str = "stock_arrived") -> list[OutboxMail]:
    return list(db.session.scalars(
        sa.select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id)))


def test_a_receipt_queues_one_mail_per_open_demand_and_marks_them_notified(ctx):
    book = make_book(title="Dune", stock_on_hand=0)
    alice, bob = make_member(name="Alice"), make_member(name="Bob")
    a, b = make_demand(alice, book), make_demand(bob, book, quantity=2)
    other = make_demand(book=make_book(stock_on_hand=0))
    db.session.commit()

    result = receive_stock(book.id, 10, "Penguin", "INV-1", "pallet 3", actor=None)
    db.session.commit()

    assert result.notified == 2 and result.mails == 2
    assert {m.to_email for m in outbox()} == {alice.email, bob.email}
    mail = next(m for m in outbox() if m.to_email == alice.email)
    assert mail.dedupe_key == f"stock_arrived:{a.id}:{result.receipt.id}"
    assert mail.status == MailStatus.PENDING and mail.member_id == alice.id
    assert "Dune" in mail.subject and "Hello Alice" in mail.body_text
    assert "http://localhost/book/" in mail.body_text
    assert mail.headers["List-Unsubscribe"].startswith("<http://localhost/demand/unsubscribe/")
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    db.session.refresh(a)
    db.session.refresh(b)
    assert a.status == b.status == DemandStatus.NOTIFIED and a.notified_at is not None
    db.session.refresh(other)
    assert other.status == DemandStatus.OPEN
    # 3 copies held (1 + 2), 7 on the shelf
    assert db.session.get(Book, book.id).stock_on_hand == 7
    assert sorted(h.quantity for h in db.session.scalars(sa.select(Hold))) == [1, 2]
    receipt = db.session.get(StockReceipt, result.receipt.id)
    assert (receipt.supplier, receipt.reference, receipt.note) == ("Penguin", "INV-1", "pallet 3")
    assert (receipt.held_quantity, receipt.shelved_quantity, receipt.notified_count) == (3, 7, 2)


def test_a_second_receipt_never_mails_the_same_member_twice_for_one_demand(ctx):
    book = make_book(stock_on_hand=0)
    make_demand(book=book)
    db.session.commit()

    receive_stock(book.id, 1)
    db.session.commit()
    receive_stock(book.id, 5)
    db.session.commit()

    assert len(outbox()) == 1


def test_a_receipt_with_nobody_waiting_puts_everything_on_the_shelf(ctx):
    book = make_book(stock_on_hand=2)

    result = receive_stock(book.id, 3)
    db.session.commit()

    assert result.notified == 0 and db.session.get(Book, book.id).stock_on_hand == 5


@pytest.mark.parametrize("quantity", [0, -3, 100_001, "5", 2.5, None, True])
def test_a_receipt_with_a_bad_quantity_is_refused_and_nothing_is_written(ctx, quantity):
    book = make_book(stock_on_hand=0)
    make_demand(book=book)
    db.session.commit()

    with pytest.raises(ReceiptFieldError) as info:
        receive_stock(book.id, quantity)
    db.session.rollback()

    assert info.value.field == "quantity"
    assert db.session.scalars(sa.select(StockReceipt)).all() == [] and outbox() == []
    assert db.session.get(Book, book.id).stock_on_hand == 0


def test_a_receipt_for_an_unknown_book_is_refused(ctx):
    with pytest.raises(NotFound):
        receive_stock(999_999, 3)
    db.session.rollback()
    assert db.session.scalars(sa.select(StockReceipt)).all() == []


def test_an_over_long_supplier_is_refused(ctx):
    book = make_book(stock_on_hand=0)
    with pytest.raises(ReceiptFieldError) as info:
        receive_stock(book.id, 1, supplier="s" * 201)
    assert info.value.field == "supplier"


def test_find_book_accepts_an_id_or_either_isbn(ctx):
    book = make_book(isbn13="9780306406157")

    assert stock.find_book(str(book.id)) is book
    assert stock.find_book("0-306-40615-2") is book
    assert stock.find_book("978-0306406157") is book
    with pytest.raises(NotFound):
        stock.find_book("12345678901234567890")


def test_a_member_who_opted_out_gets_no_hold_and_the_copy_goes_to_the_next_reader(ctx):
    """Stock alerts off: no hold, no mail, and the demand stays open (not notified), as for a
    deactivated account: the reader still wants the book, was told nothing, and is served at
    an arrival after they turn alerts back on."""
    book = make_book(stock_on_hand=0)
    quiet, keen = make_member(stock_alerts_opt_in=False), make_member()
    quiet_demand = make_demand(quiet, book, created_at=utcnow() - timedelta(days=2))
    keen_demand = make_demand(keen, book, created_at=utcnow() - timedelta(days=1))
    db.session.commit()

    result = receive_stock(book.id, 1)
    db.session.commit()

    assert (result.notified, result.held, result.shelved) == (1, 1, 0)
    assert [m.to_email for m in outbox()] == [keen.email]
    assert [h.demand_id for h in db.session.scalars(sa.select(Hold))] == [keen_demand.id]
    db.session.refresh(quiet_demand)
    assert quiet_demand.status == DemandStatus.OPEN and quiet_demand.notified_at is None
    assert quiet_demand.open_key == f"{quiet.id}:{book.id}"
    assert db.session.get(StockReceipt, result.receipt.id).notified_count == 1


def test_copies_only_opted_out_readers_wait_for_go_on_the_shelf(ctx):
    book = make_book(stock_on_hand=0)
    quiet = make_member(stock_alerts_opt_in=False)
    demand = make_demand(quiet, book, quantity=2)
    db.session.commit()

    result = receive_stock(book.id, 2)
    db.session.commit()

    assert (result.notified, result.held, result.shelved, result.mails) == (0, 0, 2, 0)
    assert db.session.get(Book, book.id).stock_on_hand == 2
    assert db.session.scalars(sa.select(Hold)).all() == [] and outbox() == []
    db.session.refresh(demand)
    assert demand.status == DemandStatus.OPEN and demand.notified_at is None
    overall, per_book = reports.conversion([book.id])
    assert overall.notified == 0 and per_book == {}


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("app_config", [{"DEMAND_HOLD_HOURS": 0}], indirect=True)
def test_without_holds_an_opted_out_reader_is_not_counted_as_told(ctx):
    book = make_book(stock_on_hand=0)
    quiet_demand = make_demand(make_member(stock_alerts_opt_in=False), book)
    keen = make_member()
    make_demand(keen, book)
    db.session.commit()

    result = receive_stock(book.id, 1)
    db.session.commit()

    assert result.notified == 1 and [m.to_email for m in outbox()] == [keen.email]
    db.session.refresh(quiet_demand)
    assert quiet_demand.status == DemandStatus.OPEN and quiet_demand.notified_at is None


def test_a_reader_who_turns_alerts_back_on_is_served_at_the_next_arrival(ctx):
    book = make_book(stock_on_hand=0)
    quiet = make_member(stock_alerts_opt_in=False)
    demand = make_demand(quiet, book)
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()
    demand_service.set_preferences(quiet, stock_alerts=True, news=False)
    book.stock_on_hand = 0
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()

    db.session.refresh(demand)
    assert demand.status == DemandStatus.NOTIFIED
    assert [m.to_email for m in outbox()] == [quiet.email]


def test_buying_a_notified_book_fulfils_the_demand_and_uses_the_held_copy(ctx):
    from app.ordering.checkout import ShippingAddress, place_order

    book = make_book(stock_on_hand=0)
    member = make_member()
    demand = make_demand(member, book)
    db.session.commit()
    receive_stock(book.id, 1)
    db.session.commit()
    assert db.session.get(Book, book.id).stock_on_hand == 0  # the copy is held, not shelved

    place_order(member, address=ShippingAddress(name="A", line1="1 St", city="C",
                                                postcode="1", country="X"),
                payment_method="cod", lines=[(book.id, 1)])
    db.session.commit()

    db.session.refresh(demand)
    assert demand.status == DemandStatus.FULFILLED and demand.fulfilled_at is not None
    hold = db.session.scalar(sa.select(Hold))
    assert hold.status == "consumed" and hold.remaining == 0
    assert db.session.get(Book, book.id).stock_on_hand == 0
    assert db.session.get(Book, book.id).sold_count == 1


def test_held_copies_put_in_the_cart_are_bought_from_the_hold_not_the_shelf(ctx):
    from app.ordering.checkout import ShippingAddress, place_order
    from app.ordering.held import put_held_in_cart

    book = make_book(stock_on_hand=0)
    other = make_book(stock_on_hand=3)  # a second line with nothing held
    member = make_member()
    make_demand(member, book)
    db.session.commit()
    receive_stock(book.id, 3)  # one copy held for the reader, two on the shelf
    db.session.commit()
    hold = db.session.scalar(sa.select(Hold))
    assert (hold.remaining, db.session.get(Book, book.id).stock_on_hand) == (1, 2)
    put_held_in_cart(member, hold.id)
    cart.add(member, {}, other.id, 1)
    db.session.commit()

    order = place_order(member, address=ShippingAddress(name="A", line1="1 St", city="C",
                                                        postcode="1", country="X"),
                        payment_method="cod")  # from the saved cart
    db.session.commit()

    assert sorted((line.book_id, line.quantity) for line in order.lines) == sorted(
        [(book.id, 1), (other.id, 1)])
    db.session.refresh(hold)
    assert hold.status == "consumed" and hold.remaining == 0
    assert db.session.get(Book, book.id).stock_on_hand == 2  # the held copy, not the shelf's
    assert db.session.get(Book, other.id).stock_on_hand == 2
    assert cart.raw_lines(member, {}) == {}


def test_braces_in_a_title_and_markup_in_a_name_come_through_the_fan_out_intact(ctx):
    book = make_book(title="Sets {a, b} & <more>", stock_on_hand=0)
    member = make_member(name="Ann <b>Bold</b> {0}")
    make_demand(member, book)
    db.session.commit()

    receive_stock(book.id, 1)

    [mail] = outbox()
    assert "Sets {a, b} & <more>" in mail.subject
    assert "Hello Ann <b>Bold</b> {0}," in mail.body_text
    assert "Ann &lt;b&gt;Bold&lt;/b&gt; {0}" in mail.body_html
    assert "Sets {a, b} &amp; &lt;more&gt;" in mail.body_html


def test_each_reader_gets_the_arrival_mail_in_their_own_language(ctx):
    book = make_book(title="Dune", stock_on_hand=0)
    english = make_member(name="Ann")
    chinese = make_member(name="李雷")
    chinese.locale = "zh_Hans"
    make_demand(english, book)
    make_demand(chinese, book)
    db.session.commit()

    receive_stock(book.id, 2)
    db.session.commit()

    subjects = dict(db.session.execute(sa.select(OutboxMail.member_id, OutboxMail.subject)).all())
    assert subjects[english.id] == "In stock: Dune"
    assert subjects[chinese.id] != "In stock: Dune" and "Dune" in subjects[chinese.id]


def test_a_receipt_by_staff_is_audited_by_the_service_itself(ctx):
    book = make_book(title="Dune", stock_on_hand=0)
    make_demand(make_member(), book)
    staff = make_staff()
    db.session.commit()

    result = receive_stock(book.id, 3, "Penguin", actor=staff)
    receive_stock(book.id, 1)  # no actor: not a staff change
    db.session.commit()

    entries = db.session.scalars(sa.select(AuditEntry)).all()
    assert [(e.action, e.actor_id, e.target_id) for e in entries] == [
        ("stock.receive", staff.id, result.receipt.id)]
    assert entries[0].after["held"] == result.held and entries[0].summary == "3 × Dune"
