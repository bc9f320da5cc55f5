"""Placing orders and moving them through their life cycle, on a real SQLite database."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.models import Book, Order, OrderEvent, OrderStatus, OutboxMail
from app.ordering import cart, checkout, orders
from app.ordering.checkout import EmptyCart, OutOfStock, ShippingAddress, place_order
from app.ordering.orders import InvalidTransition, change_status
from tests.factories import make_book, make_member, make_staff

ADDRESS = ShippingAddress(name="Ada Reader", line1="1 Library Lane", city="Shanghai",
                          postcode="200000", country="China", phone="+86 21 5555 0100")


def stock(book: Book) -> int:
    return db.session.scalar(sa.select(Book.stock_on_hand).where(Book.id == book.id))


def buy(member, payment_method="bank_transfer", **kwargs) -> Order:
    return place_order(member, address=ADDRESS, payment_method=payment_method, **kwargs)


@pytest.fixture
def shopper(ctx):
    member = make_member(name="Ada Reader")
    dune = make_book(title="Dune", authors="Frank Herbert", price=Decimal("42.00"),
                     stock_on_hand=5)
    emma = make_book(title="Emma", authors="Jane Austen", price=Decimal("19.90"),
                     stock_on_hand=3)
    cart.add(member, {}, dune.id, 2)
    cart.add(member, {}, emma.id, 1)
    db.session.commit()
    return member, dune, emma


def test_placing_an_order_takes_the_copies_off_the_shelf_and_counts_them_sold(shopper):
    member, dune, emma = shopper

    buy(member)
    db.session.commit()

    assert (stock(dune), stock(emma)) == (3, 2)
    assert db.session.get(Book, dune.id).sold_count == 2


def test_a_book_already_loaded_shows_the_new_stock_before_the_commit(shopper):
    member, dune, emma = shopper
    assert (dune.stock_on_hand, emma.sold_count) == (5, 0)  # loaded in this session

    buy(member)

    assert (dune.stock_on_hand, dune.sold_count) == (3, 2)
    assert (emma.stock_on_hand, emma.sold_count) == (2, 1)


def test_the_order_snapshots_lines_totals_address_and_the_member(shopper):
    member, dune, emma = shopper

    order = buy(member, note="  Leave it with the porter  ")
    db.session.commit()

    order = db.session.get(Order, order.id)
    snapshot = [(ln.title, ln.authors, ln.unit_price, ln.quantity, ln.line_total)
                for ln in order.lines]
    assert snapshot == [
        ("Dune", "Frank Herbert", Decimal("42.00"), 2, Decimal("84.00")),
        ("Emma", "Jane Austen", Decimal("19.90"), 1, Decimal("19.90")),
    ]
    assert order.subtotal == Decimal("103.90")
    assert order.discount_total == Decimal("0.00") and order.discount_rate == Decimal("0")
    assert order.shipping_fee == Decimal("0.00")  # 103.90 reaches the free-shipping threshold
    assert order.total == Decimal("103.90")
    assert order.status == OrderStatus.PLACED and order.placed_at is not None
    assert order.email == member.email and order.tier_code == "regular"
    assert (order.ship_name, order.ship_city, order.ship_phone) == (
        "Ada Reader", "Shanghai", "+86 21 5555 0100")
    assert order.payment_method == "bank_transfer"
    assert order.note == "Leave it with the porter"
    assert order.number == f"BS-{order.id:07d}"


def test_a_small_order_pays_the_shipping_fee(ctx):
    member = make_member()
    book = make_book(price=Decimal("12.50"))
    cart.add(member, {}, book.id, 1)

    order = buy(member, payment_method="cod")

    assert (order.subtotal, order.shipping_fee, order.total) == (
        Decimal("12.50"), Decimal("10.00"), Decimal("22.50"))


def test_placing_an_order_empties_the_cart_and_records_who_placed_it(shopper):
    member, _, _ = shopper

    order = buy(member)
    db.session.commit()

    assert cart.raw_lines(member, {}) == {}
    [event] = db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id))
    assert (event.from_status, event.to_status, event.actor_id) == (
        None, OrderStatus.PLACED, member.id)


def test_placing_an_order_queues_one_confirmation_mail(shopper):
    member, _, _ = shopper

    order = buy(member)
    db.session.commit()

    [mail] = db.session.scalars(sa.select(OutboxMail)).all()
    assert mail.kind == "order_confirmation" and mail.to_email == member.email
    assert mail.dedupe_key == f"order_confirmation:{order.id}"
    assert order.number in mail.subject
    assert "Dune" in mail.body_text and "BS-" in mail.body_text
    assert f"http://localhost/orders/{order.id}" in mail.body_text


def test_the_price_snapshot_survives_a_later_price_change(shopper):
    member, dune, _ = shopper
    order = buy(member)
    db.session.commit()

    db.session.get(Book, dune.id).price = Decimal("99.00")
    db.session.commit()
    db.session.expire_all()

    line = db.session.get(Order, order.id).lines[0]
    assert (line.unit_price, line.line_total) == (Decimal("42.00"), Decimal("84.00"))
    assert db.session.get(Order, order.id).total == Decimal("103.90")


def test_prices_come_from_the_database_at_checkout_not_from_when_the_book_was_added(shopper):
    member, dune, _ = shopper
    dune.price = Decimal("40.00")
    db.session.commit()

    order = buy(member)

    assert order.lines[0].unit_price == Decimal("40.00")


def test_a_shortfall_raises_out_of_stock_naming_the_book_and_leaves_stock_and_cart(shopper):
    member, dune, emma = shopper
    emma.stock_on_hand = 0
    db.session.commit()

    with pytest.raises(OutOfStock) as caught:
        buy(member)
    db.session.rollback()  # what the view does

    assert "Emma" in caught.value.message and "sold out" in caught.value.message
    [short] = caught.value.shortfalls
    assert (short.book_id, short.requested, short.available) == (emma.id, 1, 0)
    assert (stock(dune), stock(emma)) == (5, 0)
    assert cart.raw_lines(member, {}) == {dune.id: 2, emma.id: 1}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0


def test_out_of_stock_names_every_short_book_with_the_copies_left(shopper):
    member, dune, emma = shopper
    dune.stock_on_hand = 1
    emma.stock_on_hand = 0
    db.session.commit()

    with pytest.raises(OutOfStock) as caught:
        buy(member)

    assert {(s.title, s.available) for s in caught.value.shortfalls} == {("Dune", 1), ("Emma", 0)}
    assert "only 1 copy of “Dune” is left (you asked for 2)" in caught.value.message


def test_a_book_withdrawn_after_it_was_added_cannot_be_bought(shopper):
    member, dune, _ = shopper
    dune.is_active = False
    db.session.commit()

    with pytest.raises(OutOfStock):
        buy(member)


def test_an_empty_cart_cannot_be_checked_out(ctx):
    with pytest.raises(EmptyCart):
        buy(make_member())


def test_an_unknown_payment_method_is_refused(shopper):
    member, _, _ = shopper

    with pytest.raises(InvalidInput):
        buy(member, payment_method="bitcoin")


def test_an_incomplete_address_is_refused(shopper):
    member, _, _ = shopper

    with pytest.raises(InvalidInput):
        place_order(member, address=ShippingAddress(name="A", line1=" ", city="C",
                                                    postcode="1", country="X"),
                    payment_method="cod")


def test_explicit_lines_are_ordered_without_touching_the_cart(shopper):
    member, dune, emma = shopper

    order = buy(member, lines=[(emma.id, 1), (emma.id, 1)], notify=False)

    assert [(line.book_id, line.quantity) for line in order.lines] == [(emma.id, 2)]
    assert cart.raw_lines(member, {}) == {dune.id: 2, emma.id: 1}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0


def test_the_discount_rate_seam_is_zero_until_member_grades_arrive(ctx):
    assert checkout.member_discount_rate(make_member()) == Decimal("0")


def test_order_lines_follow_the_order_the_books_went_into_the_cart(ctx):
    member = make_member()
    older, newer = make_book(title="Older"), make_book(title="Newer")
    cart.add(member, {}, newer.id, 1)
    cart.add(member, {}, older.id, 1)

    order = buy(member)

    assert [line.title for line in order.lines] == ["Newer", "Older"]


# --------------------------------------------------------------------------- checkout key


KEY = "k" * 20


def test_an_order_keeps_the_checkout_key_it_was_placed_with(shopper):
    member, _, _ = shopper

    order = buy(member, checkout_key=KEY)
    db.session.commit()

    assert checkout.order_placed_with(member, KEY).id == order.id
    assert checkout.order_placed_with(member, "o" * 20) is None
    assert checkout.order_placed_with(make_member(), KEY) is None


def test_a_used_key_places_no_second_order_even_for_a_full_cart(shopper):
    member, dune, emma = shopper
    first = buy(member, checkout_key=KEY)
    db.session.commit()
    cart.add(member, {}, dune.id, 1)
    db.session.commit()

    with pytest.raises(checkout.AlreadyPlaced):
        buy(member, checkout_key=KEY)
    db.session.rollback()

    assert db.session.scalars(sa.select(Order.id)).all() == [first.id]
    assert (stock(dune), stock(emma)) == (3, 2)
    assert cart.raw_lines(member, {}) == {dune.id: 1}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 1


def test_each_member_has_their_own_keys(shopper):
    member, dune, _ = shopper
    other = make_member()
    cart.add(other, {}, dune.id, 1)

    mine, theirs = buy(member, checkout_key=KEY), buy(other, checkout_key=KEY)
    db.session.commit()

    assert checkout.order_placed_with(other, KEY).id == theirs.id != mine.id


@pytest.mark.parametrize("bad_key", ["", "short", "k" * 65, "key with spaces in it"])
def test_a_malformed_key_is_refused_before_anything_is_taken(shopper, bad_key):
    member, dune, _ = shopper

    with pytest.raises(InvalidInput, match="This checkout form has expired"):
        buy(member, checkout_key=bad_key)

    assert stock(dune) == 5 and cart.raw_lines(member, {}) == {dune.id: 2, shopper[2].id: 1}


def test_orders_without_a_key_never_clash(shopper):
    member, dune, _ = shopper
    buy(member)
    cart.add(member, {}, dune.id, 1)

    buy(member)
    db.session.commit()

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 2
    assert checkout.order_placed_with(member, None) is None


# --------------------------------------------------------------------------- life cycle


@pytest.fixture
def placed(shopper):
    member, dune, emma = shopper
    order = buy(member)
    db.session.commit()
    return order, dune, emma


def test_an_order_goes_placed_paid_shipped_delivered_with_timestamps_and_events(placed):
    order, _, _ = placed
    staff = make_staff()

    for status in ("paid", "shipped", "delivered"):
        change_status(order, status, actor=staff)
    db.session.commit()

    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.DELIVERED
    assert order.placed_at <= order.paid_at <= order.shipped_at <= order.delivered_at
    assert [(e.from_status, e.to_status) for e in order.events] == [
        (None, OrderStatus.PLACED),
        (OrderStatus.PLACED, OrderStatus.PAID),
        (OrderStatus.PAID, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    ]
    assert order.events[-1].actor_id == staff.id


@pytest.mark.parametrize("first", [None, "paid"])
def test_cancelling_returns_the_stock_and_the_sold_count(placed, first):
    order, dune, emma = placed
    if first:
        change_status(order, first)

    change_status(order, OrderStatus.CANCELLED, note="Customer asked")
    db.session.commit()

    assert (stock(dune), stock(emma)) == (5, 3)
    assert db.session.get(Book, dune.id).sold_count == 0
    order = db.session.get(Order, order.id)
    assert order.cancelled_at is not None and order.events[-1].note == "Customer asked"


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "shipped"),
        ([], "delivered"),
        ([], "placed"),
        (["paid"], "placed"),
        (["paid"], "delivered"),
        (["paid", "shipped"], "cancelled"),
        (["paid", "shipped", "delivered"], "cancelled"),
        (["cancelled"], "paid"),
        (["cancelled"], "cancelled"),
        ([], "refunded"),
    ],
)
def test_transitions_outside_the_life_cycle_are_refused(placed, path, refused):
    order, dune, _ = placed
    for status in path:
        change_status(order, status)
    db.session.commit()
    before = stock(dune)

    with pytest.raises(InvalidTransition):
        change_status(order, refused)

    db.session.rollback()
    assert stock(dune) == before


def test_cancelling_twice_cannot_return_the_stock_twice(placed):
    order, dune, _ = placed
    stale = db.session.get(Order, order.id)
    assert stale.status == OrderStatus.PLACED
    with db.engine.begin() as someone_else:  # a second connection cancels it a moment before us
        someone_else.execute(
            sa.update(Order).where(Order.id == order.id).values(status=OrderStatus.CANCELLED)
        )

    with pytest.raises(InvalidTransition, match="changed by someone else"):
        change_status(stale, "cancelled")

    assert stock(dune) == 3


def test_a_member_sees_only_their_own_orders(placed):
    from app.core.errors import NotFound

    order, _, _ = placed
    other = make_member()

    assert [o.id for o in orders.orders_for_member(order.member, 1).items] == [order.id]
    assert orders.orders_for_member(other, 1).items == []
    assert orders.order_for_member(order.member, order.id).id == order.id
    with pytest.raises(NotFound):
        orders.order_for_member(other, order.id)
    with pytest.raises(NotFound):
        orders.orders_for_member(other, 0)


def test_a_member_s_orders_come_a_page_at_a_time_newest_first(ctx, monkeypatch):
    from datetime import timedelta

    from app.core.db import utcnow
    from tests.factories import make_placed_order

    monkeypatch.setattr(orders, "ORDERS_PER_PAGE", 2)
    member, book = make_member(), make_book(stock_on_hand=50)
    placed_ids = [make_placed_order(member, lines=[(book, 1)],
                                    placed_at=utcnow() - timedelta(days=n)).id
                  for n in range(5)]
    db.session.commit()

    pages = [orders.orders_for_member(member, n) for n in (1, 2, 3, 4)]

    assert [[o.id for o in p.items] for p in pages] == [
        placed_ids[0:2], placed_ids[2:4], placed_ids[4:5], []]
    assert [(p.total, p.pages) for p in pages] == [(5, 3)] * 4
    assert [len(o.lines) for o in pages[0].items] == [1, 1]
    single = make_member()
    make_placed_order(single, lines=[(book, 2)])
    db.session.commit()
    assert (orders.orders_for_member(single, 1).total, orders.orders_for_member(single, 2).total
            ) == (1, 1)


def test_a_status_change_by_staff_is_audited_by_the_service_itself(placed):
    order, _, _ = placed
    staff = make_staff()

    change_status(order, "cancelled", actor=staff, note="Customer asked")
    change_status(buy(make_member(), lines=[(order.lines[0].book_id, 1)]), "paid")  # no actor
    db.session.commit()

    entries = db.session.scalars(sa.select(AuditEntry)).all()
    assert [(e.action, e.actor_id, e.target_id) for e in entries] == [
        ("order.status", staff.id, order.id)]
    assert entries[0].before == {"status": "placed"}
    assert entries[0].after == {"status": "cancelled"}
    assert entries[0].summary == f"{order.number}: placed → cancelled (Customer asked)"
