"""Taking an order on the phone: the web's checkout, with the channel and the staff member.

A phone order is priced, discounted, stock-checked and confirmed by mail exactly as the same
cart checked out on the website; it records its channel and who took it, notes the call on the
customer's record and is audited.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.crm import phone_orders
from app.grades.table import ensure_default_tiers
from app.mail.sender import deliver_due
from app.models import Book, Interaction, InteractionKind, Member, Order, OrderChannel, OutboxMail
from app.ordering import cart
from app.ordering.checkout import OutOfStock, ShippingAddress, place_order
from tests.factories import make_book, make_member, make_staff
from tests.helpers import run_at_once
from tests.pages import logged_in_client

ADDRESS = ShippingAddress(name="Ada Reader", line1="1 Library Lane", city="Shanghai",
                          postcode="200000", country="China")


def _gold_pair_and_book(**book):
    """Two gold members (10 % off) and a book: one buys on the web, one on the phone."""
    ensure_default_tiers()
    web = make_member(email="web@example.test", name="Wen Web", tier_code="gold")
    phone = make_member(email="phone@example.test", name="Pat Phone", tier_code="gold")
    staff = make_staff(email="agent@example.test", name="Alex Agent")
    values = {"title": "Dune", "price": Decimal("42.00"), "stock_on_hand": 10}
    values.update(book)
    return web, phone, staff, make_book(**values)


def _comparable(order: Order) -> tuple:
    return (order.subtotal, order.discount_rate, order.discount_total, order.shipping_fee,
            order.total, order.tier_code, order.status,
            [(line.book_id, line.unit_price, line.quantity, line.line_total)
             for line in order.lines])


# --------------------------------------------------------------------------- same as the web


def test_a_phone_order_gets_the_web_price_discount_stock_and_mail(ctx):
    web, phone, staff, book = _gold_pair_and_book()
    cart.add(web, {}, book.id, 3)
    web_order = place_order(web, address=ADDRESS, payment_method="cod")
    phone_orders.add_book(phone, book.id, 3)
    phone_order = phone_orders.place_phone_order(phone, staff, address=ADDRESS,
                                                 payment_method="cod")
    db.session.commit()

    assert _comparable(phone_order) == _comparable(web_order)
    assert phone_order.discount_total == Decimal("12.60")  # 10 % of 126.00, as on the web
    assert db.session.get(Book, book.id).stock_on_hand == 4  # 3 + 3 taken off the shelf
    assert (web_order.channel, web_order.placed_by_id) == (OrderChannel.WEB, None)
    assert (phone_order.channel, phone_order.placed_by_id) == (OrderChannel.PHONE, staff.id)
    assert phone_order.events[0].actor_id == staff.id
    mails = db.session.scalars(sa.select(OutboxMail).where(
        OutboxMail.kind == "order_confirmation").order_by(OutboxMail.id)).all()
    assert [(m.to_email, m.member_id) for m in mails] == [
        ("web@example.test", web.id), ("phone@example.test", phone.id)]
    assert cart.raw_lines(phone, {}) == {}  # the member's own cart was checked out


def test_the_confirmation_mails_of_a_web_and_a_phone_order_read_alike_over_smtp(
        ctx, smtp_inbox):
    web, phone, staff, book = _gold_pair_and_book()
    cart.add(web, {}, book.id, 1)
    web_order = place_order(web, address=ADDRESS, payment_method="bank_transfer")
    phone_orders.add_book(phone, book.id, 1)
    phone_order = phone_orders.place_phone_order(phone, staff, address=ADDRESS,
                                                 payment_method="bank_transfer")
    db.session.commit()

    deliver_due()

    by_recipient = {m["To"]: m for m in smtp_inbox.parsed()}
    assert set(by_recipient) == {"web@example.test", "phone@example.test"}
    web_subject = by_recipient["web@example.test"]["Subject"]
    phone_subject = by_recipient["phone@example.test"]["Subject"]
    assert phone_subject == web_subject.replace(web_order.number, phone_order.number)
    body = by_recipient["phone@example.test"].get_body(("plain",)).get_content()
    assert phone_order.number in body and "Dune" in body


def test_the_phone_cart_is_priced_as_the_web_cart(ctx):
    web, phone, _staff, book = _gold_pair_and_book()
    cart.add(web, {}, book.id, 2)
    phone_orders.add_book(phone, book.id, 2)

    web_view = cart.lines(web, {}, discount_rate=Decimal("0.10"))
    phone_view = phone_orders.phone_cart(phone)

    assert phone_view.quote == web_view.quote
    assert phone_view.quote.discount == Decimal("8.40")


def test_the_phone_cart_refuses_more_copies_than_the_shelf_holds_as_the_web_does(ctx):
    _web, phone, _staff, book = _gold_pair_and_book(stock_on_hand=2)
    with pytest.raises(Exception) as web_refusal:
        cart.add(make_member(), {}, book.id, 3)
    with pytest.raises(Exception) as phone_refusal:
        phone_orders.add_book(phone, book.id, 3)
    assert type(phone_refusal.value) is type(web_refusal.value)
    assert phone_refusal.value.message == web_refusal.value.message


def test_a_phone_order_for_a_book_sold_out_meanwhile_is_refused_and_nothing_stays(ctx):
    _web, phone, staff, book = _gold_pair_and_book(stock_on_hand=1)
    phone_orders.add_book(phone, book.id, 1)
    db.session.execute(sa.update(Book).where(Book.id == book.id).values(stock_on_hand=0))
    db.session.commit()

    with pytest.raises(OutOfStock) as refusal:
        phone_orders.place_phone_order(phone, staff, address=ADDRESS, payment_method="cod")
    db.session.rollback()

    assert "“Dune” has just sold out" in refusal.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert cart.raw_lines(phone, {}) == {book.id: 1}


# --------------------------------------------------------------------------- the record, audit


def test_the_call_is_noted_on_the_record_and_the_order_audited(ctx):
    _web, phone, staff, book = _gold_pair_and_book()
    phone_orders.add_book(phone, book.id, 2)
    order = phone_orders.place_phone_order(phone, staff, address=ADDRESS, payment_method="cod")
    db.session.commit()

    [call] = db.session.scalars(sa.select(Interaction).where(
        Interaction.member_id == phone.id)).all()
    assert (call.kind, call.staff_id) == (InteractionKind.PHONE, staff.id)
    assert order.number in call.body
    [entry] = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "order.phone_placed")).all()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (staff.id, "orders", order.id)


def test_only_staff_take_phone_orders_and_never_for_an_erased_or_closed_account(ctx):
    _web, phone, _staff, book = _gold_pair_and_book()
    phone_orders.add_book(phone, book.id, 1)
    with pytest.raises(Exception, match="Only staff"):
        phone_orders.place_phone_order(phone, make_member(), address=ADDRESS,
                                       payment_method="cod")
    phone.is_active_account = False
    with pytest.raises(Exception, match="deactivated"):
        phone_orders.add_book(phone, book.id, 1)


def test_a_phone_order_without_its_staff_member_is_refused_by_the_checkout(ctx):
    _web, phone, _staff, book = _gold_pair_and_book()
    with pytest.raises(Exception, match="staff member"):
        place_order(phone, address=ADDRESS, payment_method="cod", lines=[(book.id, 1)],
                    channel=OrderChannel.PHONE)


# --------------------------------------------------------------------------- finding the caller


@pytest.mark.parametrize("query", ["Pat Phone", "+86 138-0013 8000", "13800138000",
                                   "(138) 0013 8000", "phone@example.test"])
def test_the_caller_is_found_by_name_email_or_phone_written_any_way(ctx, query):
    ensure_default_tiers()
    member = make_member(name="Pat Phone", email="phone@example.test", phone="138 0013 8000")
    make_member(name="Someone Else", phone="139 0000 0000")
    assert [m.id for m in phone_orders.find_callers(query)] == [member.id]


def test_the_caller_is_found_by_member_number_and_by_an_order_number(ctx):
    _web, phone, staff, book = _gold_pair_and_book()
    phone_orders.add_book(phone, book.id, 1)
    order = phone_orders.place_phone_order(phone, staff, address=ADDRESS, payment_method="cod")
    assert [m.id for m in phone_orders.find_callers(phone.member_no)] == [phone.id]
    for reference in (order.number, order.number.lower(), f"BS {order.id}"):
        assert [m.id for m in phone_orders.find_callers(reference)] == [phone.id]
    assert phone_orders.find_callers("BS-9999999") == []


# --------------------------------------------------------------------------- the pages


def test_staff_take_a_phone_order_through_the_pages(app, client, staff_id):
    with app.app_context():
        ensure_default_tiers()
        member = make_member(name="Pat Phone", email="phone@example.test", phone="021 5555 0101",
                             tier_code="gold", address_line1="9 Call Street", city="Shanghai",
                             postcode="200001", country="China")
        book = make_book(title="Solaris", price=Decimal("50.00"), stock_on_hand=3)
        db.session.commit()
        member_id, book_id = member.id, book.id
    agent = logged_in_client(app, "clerk@example.test")

    found = agent.get("/admin/phone-orders/new?q=5555-0101").get_data(as_text=True)
    assert f"/admin/customers/{member_id}/phone-order" in found

    page = agent.get(f"/admin/customers/{member_id}/phone-order?book_q=solaris")
    assert page.status_code == 200 and "Solaris" in page.get_data(as_text=True)
    added = agent.post(f"/admin/customers/{member_id}/phone-order/add",
                       data={"book_id": book_id, "quantity": 2})
    assert added.status_code == 302
    page = agent.get(f"/admin/customers/{member_id}/phone-order").get_data(as_text=True)
    assert "Member discount (10%)" in page and "9 Call Street" in page
    import re
    key = re.search(r'name="checkout_key"[^>]*value="([^"]+)"', page).group(1)
    form = {"name": "Pat Phone", "line1": "9 Call Street", "city": "Shanghai",
            "postcode": "200001", "country": "China", "payment_method": "cod",
            "checkout_key": key}
    placed = agent.post(f"/admin/customers/{member_id}/phone-order/place", data=form)
    again = agent.post(f"/admin/customers/{member_id}/phone-order/place", data=form)

    assert placed.status_code == 302 and "/admin/orders/" in placed.location
    assert again.status_code == 302 and again.location == placed.location  # never twice
    with app.app_context():
        [order] = db.session.scalars(sa.select(Order)).all()
        assert (order.channel, order.placed_by_id) == (OrderChannel.PHONE, staff_id)
        assert order.total == Decimal("90.00") + order.shipping_fee
    detail = agent.get(placed.location).get_data(as_text=True)
    assert "Taken on the phone by Clara Clerk" in detail
    record = agent.get(f"/admin/customers/{member_id}").get_data(as_text=True)
    assert 'data-testid="phone-order-badge"' in record


def test_a_refused_phone_order_form_keeps_what_was_typed(app, staff_id):
    with app.app_context():
        member = make_member(name="Pat Phone")
        book = make_book(stock_on_hand=3)
        cart.add(member, {}, book.id, 1)
        db.session.commit()
        member_id = member.id
    agent = logged_in_client(app, "clerk@example.test")
    response = agent.post(f"/admin/customers/{member_id}/phone-order/place",
                          data={"name": "Pat Typed", "line1": "", "payment_method": "cod"})
    assert response.status_code == 400
    assert "Pat Typed" in response.get_data(as_text=True)


def test_members_cannot_open_the_phone_order_pages(app, client):
    with app.app_context():
        member = make_member(email="plain@example.test")
        db.session.commit()
        member_id = member.id
    visitor = logged_in_client(app, "plain@example.test")
    assert visitor.get("/admin/phone-orders/new").status_code in (403, 404)
    assert visitor.post(f"/admin/customers/{member_id}/phone-order/place").status_code in (
        403, 404)


# --------------------------------------------------------------------------- PostgreSQL race


def test_a_phone_order_and_a_web_order_racing_for_the_last_copy_exactly_one_wins(pg_app):
    with pg_app.app_context():
        book = make_book(title="The Last Copy", stock_on_hand=1)
        web, phone = make_member(), make_member()
        staff = make_staff()
        cart.add(web, {}, book.id, 1)
        cart.add(phone, {}, book.id, 1)
        db.session.commit()
        book_id, ids = book.id, {"web": web.id, "phone": phone.id, "staff": staff.id}

    outcome: dict[str, str] = {}

    def buyer(meet, channel: str) -> None:
        with pg_app.app_context():
            member = db.session.get(Member, ids[channel])
            staff_member = db.session.get(Member, ids["staff"])
            meet()
            try:
                if channel == "web":
                    place_order(member, address=ADDRESS, payment_method="cod")
                else:
                    phone_orders.place_phone_order(member, staff_member, address=ADDRESS,
                                                   payment_method="cod")
                time.sleep(0.3)  # the winner holds its locks: the other really waits
                db.session.commit()
                outcome[channel] = "ordered"
            except OutOfStock as exc:
                db.session.rollback()
                outcome[channel] = exc.message
            finally:
                db.session.remove()

    errors = run_at_once(buyer, [("web",), ("phone",)])

    assert not errors, errors
    assert sorted(outcome) == ["phone", "web"]
    assert list(outcome.values()).count("ordered") == 1
    [message] = [m for m in outcome.values() if m != "ordered"]
    assert message == "Sorry, “The Last Copy” has just sold out."
    with pg_app.app_context():
        [order] = db.session.scalars(sa.select(Order)).all()
        winner = "phone" if order.channel == OrderChannel.PHONE else "web"
        assert outcome[winner] == "ordered"
        book = db.session.get(Book, book_id)
        assert (book.stock_on_hand, book.sold_count) == (0, 1)
        calls = db.session.scalar(sa.select(sa.func.count()).select_from(Interaction))
        assert calls == (1 if winner == "phone" else 0)  # a lost phone order notes nothing


def test_the_customer_list_finds_a_customer_by_an_order_number(app, staff_id):
    with app.app_context():
        member = make_member(name="Olive Ordered")
        make_member(name="Other Person")
        order_id = make_placed_order_for(member)
        db.session.commit()
    agent = logged_in_client(app, "clerk@example.test")
    html = agent.get(f"/admin/customers?q=BS-{order_id:07d}").get_data(as_text=True)
    assert "Olive Ordered" in html and "Other Person" not in html


def make_placed_order_for(member: Member) -> int:
    from tests.factories import make_placed_order

    return make_placed_order(member).id
