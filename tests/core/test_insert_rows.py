"""Rows written without the unit of work (app.core.bulk.insert_rows, keep_as_loaded): each new
object gets its row and its id, and then sits in the session exactly as if it had just been
loaded: persistent, nothing pending, its values and the relationships set between the objects
readable without a query, and a later flush or commit writes nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.core.bulk import insert_rows, keep_as_loaded
from app.core.extensions import db
from app.mail.models import MailStatus, OutboxMail
from app.ordering.models import Order, OrderChannel, OrderEvent, OrderLine, OrderStatus
from tests.factories import make_book, make_member
from tests.helpers import counting_statements

WHEN = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _order(member, **overrides) -> Order:
    values = dict(
        member_id=member.id, status=OrderStatus.PLACED, email=member.email,
        payment_method="cod", ship_name="Reader", ship_line1="1 Road", ship_line2=None,
        ship_city="Town", ship_region=None, ship_postcode="100", ship_country="China",
        ship_phone=None, subtotal=Decimal("25.00"), discount_total=Decimal("0.00"),
        shipping_fee=Decimal("10.00"), total=Decimal("35.00"), tier_code="regular",
        discount_rate=Decimal("0"), note=None, checkout_key=None, channel=OrderChannel.WEB,
        placed_by_id=None, placed_at=WHEN)
    values.update(overrides)
    return Order(**values)


def _line(order: Order, book, quantity: int) -> OrderLine:
    return OrderLine(order_id=order.id, book_id=book.id, title=book.title, authors=book.authors,
                     unit_price=book.price, quantity=quantity, line_total=book.price * quantity)


def _written(app, member, books) -> tuple[Order, list[OrderLine], OrderEvent]:
    order = _order(member)
    insert_rows([order])
    lines = [_line(order, book, k + 1) for k, book in enumerate(books)]
    event = OrderEvent(order_id=order.id, at=WHEN, from_status=None,
                       to_status=OrderStatus.PLACED, actor_id=member.id)
    insert_rows(lines)
    insert_rows([event])
    order.lines = lines
    order.events = [event]
    keep_as_loaded(order, *lines, event)
    return order, lines, event


def test_the_objects_are_in_the_session_as_if_loaded_nothing_pending(app, ctx):
    member = make_member()
    books = [make_book(price=Decimal("10.00")), make_book(price=Decimal("2.50"))]
    db.session.flush()

    order, lines, event = _written(app, member, books)

    assert order.id is not None and all(line.id is not None for line in lines)
    assert [line.id for line in lines] == sorted(line.id for line in lines)
    for obj in (order, *lines, event):
        assert sa.inspect(obj).persistent
    assert not db.session.new and not db.session.dirty
    with counting_statements(app) as statements:
        assert order.total == Decimal("35.00") and order.refunded_cents == 0
        assert order.paid_at is None and order.status == OrderStatus.PLACED
        assert [line.quantity for line in order.lines] == [1, 2]
        assert lines[1].order is order and order.events == [event]
        assert order.member is member  # the loaded member, from the identity map
        db.session.flush()
    assert statements == []


def test_what_was_written_is_what_a_new_session_reads_once_committed(app, ctx):
    member = make_member()
    books = [make_book(price=Decimal("10.00")), make_book(price=Decimal("2.50"))]
    db.session.flush()
    order, _lines, _event = _written(app, member, books)
    order_id, book_ids = order.id, [book.id for book in books]
    db.session.commit()
    db.session.expunge_all()

    again = db.session.get(Order, order_id)
    assert again.channel == OrderChannel.WEB and again.placed_at == WHEN
    assert [(line.book_id, line.quantity, line.line_total) for line in again.lines] == [
        (book_ids[0], 1, Decimal("10.00")), (book_ids[1], 2, Decimal("5.00"))]
    assert [e.to_status for e in again.events] == [OrderStatus.PLACED]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderLine)) == 2


def test_a_change_after_keeping_is_an_ordinary_update(app, ctx):
    member = make_member()
    book = make_book()
    db.session.flush()
    order, _lines, _event = _written(app, member, [book])

    order.status = OrderStatus.PAID
    with counting_statements(app) as statements:
        db.session.flush()
    assert [s.split()[0] for s in statements] == ["UPDATE"]
    db.session.expire(order)
    assert order.status == OrderStatus.PAID


def test_plain_defaults_are_filled_in_and_nullable_columns_left_null(app, ctx):
    mail = OutboxMail(kind="test", to_email="reader@example.test", subject="Hello",
                      body_text="Hi", headers={}, created_at=WHEN, next_attempt_at=WHEN,
                      message_id="<1@test>")
    insert_rows([mail])
    keep_as_loaded(mail)

    assert mail.status == MailStatus.PENDING and mail.attempts == 0
    assert mail.body_html is None and mail.sent_at is None
    mail_id = mail.id
    db.session.commit()
    db.session.expunge_all()
    again = db.session.get(OutboxMail, mail_id)
    assert (again.status, again.attempts, again.body_html) == (MailStatus.PENDING, 0, None)


def test_a_computed_default_must_be_given(app, ctx):
    mail = OutboxMail(kind="test", to_email="reader@example.test", subject="Hello",
                      body_text="Hi", headers={}, next_attempt_at=WHEN, message_id="<2@test>")
    with pytest.raises(ValueError, match="created_at"):
        insert_rows([mail])  # its default is computed (the time): the object would not know it


def test_a_broken_constraint_raises_the_databases_error(app, ctx):
    member = make_member()
    db.session.flush()
    insert_rows([_order(member, checkout_key="k" * 20)])
    with pytest.raises(IntegrityError):
        insert_rows([_order(member, checkout_key="k" * 20)])
    db.session.rollback()


def test_one_class_per_call(app, ctx):
    member = make_member()
    db.session.flush()
    order = _order(member)
    with pytest.raises(ValueError, match="one class"):
        insert_rows([order, OrderEvent(order_id=1, at=WHEN, to_status=OrderStatus.PLACED)])


def _mail(n: int, **overrides) -> OutboxMail:
    values = dict(kind="test", to_email="reader@example.test", subject=f"Hello {n}",
                  body_text="Hi", headers={}, created_at=WHEN, next_attempt_at=WHEN,
                  message_id=f"<{n}@test>")
    values.update(overrides)
    return OutboxMail(**values)


def _kept(n: int, **overrides) -> OutboxMail:
    mail = _mail(n, **overrides)
    insert_rows([mail])
    keep_as_loaded(mail)
    return mail


def test_a_rolled_back_savepoint_takes_what_it_kept_out_of_the_session_as_a_flush_would(
        app, ctx):
    before = _kept(1)
    savepoint = db.session.begin_nested()
    inside = _kept(2)
    flushed = _mail(3)
    db.session.add(flushed)
    db.session.flush()
    savepoint.rollback()

    for gone in (inside, flushed):  # transient, values kept, as the unit of work leaves them
        assert sa.inspect(gone).transient and gone not in db.session
        assert gone.subject.startswith("Hello")
    assert sa.inspect(before).persistent and before.subject == "Hello 1"
    again = _kept(4)  # SQLite may give the rolled-back row's id again: no clash with a ghost
    db.session.commit()
    assert db.session.scalars(sa.select(OutboxMail.subject).order_by(OutboxMail.id)).all() == [
        "Hello 1", "Hello 4"]
    assert sa.inspect(again).persistent


def test_a_released_savepoint_leaves_what_it_kept_to_the_transaction_around_it(app, ctx):
    _kept(0)  # the transaction's first write (pysqlite begins none for a SAVEPOINT)
    with db.session.begin_nested():
        kept = _kept(1)
    other = db.session.begin_nested()
    _kept(2)
    other.rollback()  # another savepoint's rollback: not the released one's

    assert sa.inspect(kept).persistent and kept.subject == "Hello 1"
    db.session.rollback()  # the transaction they were kept in
    assert sa.inspect(kept).transient and kept.subject == "Hello 1"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0


def test_a_none_given_counts_as_not_given_as_in_a_flush(app, ctx):
    mail = _kept(1, attempts=None, body_html=None)

    assert (mail.attempts, mail.body_html) == (0, None)
    db.session.commit()
    assert db.session.scalar(sa.select(OutboxMail.attempts)) == 0


def test_a_related_object_assigned_instead_of_its_id_is_refused(app, ctx):
    member = make_member()
    db.session.flush()
    order = _order(member)
    insert_rows([order])
    event = OrderEvent(order_id=order.id, at=WHEN, to_status=OrderStatus.PLACED, actor=member)

    with pytest.raises(ValueError, match="actor"):
        insert_rows([event])
