"""Cart, checkout and order pages through the test client, as a shopper uses them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book, Member, Order, OutboxMail
from app.ordering import cart
from app.ordering.checkout import ShippingAddress, place_order
from tests.factories import make_book, make_member
from tests.pages import csrf_token, post_login

EMAIL = "member@example.test"


@pytest.fixture
def books(app):
    with app.app_context():
        dune = make_book(title="Dune", price=Decimal("42.00"), stock_on_hand=5)
        emma = make_book(title="Emma", price=Decimal("19.90"), stock_on_hand=1)
        db.session.commit()
        return dune.id, emma.id


@pytest.fixture
def member_id(app):
    with app.app_context():
        member = make_member(email=EMAIL, name="Ada Reader", address_line1="1 Library Lane",
                             city="Shanghai", postcode="200000", country="China")
        db.session.commit()
        return member.id


def session_cart(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess.get(cart.SESSION_KEY, {}))


def member_cart(app, member_id) -> dict[int, int]:
    with app.app_context():
        return cart.raw_lines(db.session.get(Member, member_id), {})


def stock(app, book_id) -> int:
    with app.app_context():
        return db.session.get(Book, book_id).stock_on_hand


CHECKOUT = {
    "name": "Ada Reader", "line1": "1 Library Lane", "line2": "", "city": "Shanghai",
    "region": "", "postcode": "200000", "country": "China", "phone": "",
    "payment_method": "bank_transfer", "note": "",
}


# --------------------------------------------------------------------------- anonymous cart


def test_a_visitor_adds_a_book_and_sees_it_in_the_cart_with_the_total(client, books):
    dune, _ = books

    response = client.post("/cart/add", data={"book_id": dune, "quantity": 2})

    assert response.status_code == 302 and response.location.endswith("/cart")
    assert session_cart(client) == {str(dune): 2}
    page = client.get("/cart").get_data(as_text=True)
    assert "Dune" in page
    assert re.search(r'data-testid="cart-count">\s*2\s*<', page)
    assert re.search(r'data-testid="total">[^<]*94\.00', page)  # 84.00 + 10.00 shipping
    assert "Member discount" not in page


def test_adding_without_a_quantity_adds_one_copy_and_returns_to_a_safe_next_page(client, books):
    dune, _ = books

    response = client.post("/cart/add", data={"book_id": dune, "next": f"/book/{dune}"})

    assert response.location.endswith(f"/book/{dune}")
    assert session_cart(client) == {str(dune): 1}


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", "javascript:x"])
def test_an_unsafe_next_goes_to_the_cart_instead(client, books, next_url):
    dune, _ = books

    response = client.post("/cart/add", data={"book_id": dune, "next": next_url})

    assert response.location.endswith("/cart")


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"book_id": "abc"}, 400),
        ({"book_id": "-4"}, 400),
        ({"book_id": str(10**30)}, 400),
        ({}, 400),
        ({"book_id": "999999"}, 404),
    ],
)
def test_a_bad_or_unknown_book_id_is_a_400_or_404_never_a_500(client, books, data, status):
    assert client.post("/cart/add", data=data).status_code == status
    assert session_cart(client) == {}


@pytest.mark.parametrize("quantity", ["0", "-1", "100", "1e9", "two", str(10**40)])
def test_a_bad_quantity_is_flashed_and_the_cart_is_unchanged(client, books, quantity):
    dune, _ = books

    response = client.post("/cart/add", data={"book_id": dune, "quantity": quantity},
                           follow_redirects=True)

    assert response.status_code == 200
    assert "quantity from 1 to 99" in response.get_data(as_text=True)
    assert session_cart(client) == {}


def test_adding_more_than_the_stock_is_refused_with_a_clear_message(client, books):
    _, emma = books

    response = client.post("/cart/add", data={"book_id": emma, "quantity": 2},
                           follow_redirects=True)

    assert "only 1 copy of “Emma” is in stock" in response.get_data(as_text=True)
    assert session_cart(client) == {}


def test_a_visitor_changes_a_quantity_and_removes_a_book(client, books):
    dune, emma = books
    client.post("/cart/add", data={"book_id": dune})
    client.post("/cart/add", data={"book_id": emma})

    client.post("/cart/update", data={"book_id": dune, "quantity": 3})
    client.post("/cart/remove", data={"book_id": emma})

    assert session_cart(client) == {str(dune): 3}
    client.post("/cart/update", data={"book_id": dune, "quantity": 0})
    assert session_cart(client) == {}
    assert "Your cart is empty" in client.get("/cart").get_data(as_text=True)


@pytest.mark.parametrize("data", [{"book_id": "x", "quantity": "1"}, {"quantity": "1"}])
def test_updating_with_a_bad_book_id_is_a_400(client, books, data):
    assert client.post("/cart/update", data=data).status_code == 400
    assert client.post("/cart/remove", data={"book_id": "nope"}).status_code == 400


def test_updating_to_an_absurd_quantity_is_flashed_not_saved(client, books):
    dune, _ = books
    client.post("/cart/add", data={"book_id": dune})

    response = client.post("/cart/update", data={"book_id": dune, "quantity": "500"},
                           follow_redirects=True)

    assert "quantity from 0 to 99" in response.get_data(as_text=True)
    assert session_cart(client) == {str(dune): 1}


# --------------------------------------------------------------------------- merge on login


def test_the_session_cart_merges_into_the_member_cart_on_login(app, client, auth, books,
                                                               member_id):
    dune, emma = books
    with app.app_context():
        cart.add(db.session.get(Member, member_id), {}, dune, 1)
        db.session.commit()
    client.post("/cart/add", data={"book_id": dune, "quantity": 2})
    client.post("/cart/add", data={"book_id": emma})

    response = auth.login(EMAIL)

    assert response.status_code == 302
    assert member_cart(app, member_id) == {dune: 3, emma: 1}
    assert session_cart(client) == {}
    page = client.get("/cart").get_data(as_text=True)
    assert re.search(r'data-testid="cart-count">\s*4\s*<', page)


# --------------------------------------------------------------------------- checkout


def test_checkout_asks_a_visitor_to_log_in_first(client, books):
    response = client.get("/checkout")

    assert response.status_code == 302 and "/account/login" in response.location


def test_checkout_with_an_empty_cart_sends_the_member_back_to_the_cart(client, auth, member_id):
    auth.login(EMAIL)

    response = client.get("/checkout")

    assert response.status_code == 302 and response.location.endswith("/cart")


def test_checkout_is_prefilled_from_the_saved_address_and_offers_both_payment_methods(
        client, auth, books, member_id):
    auth.login(EMAIL)
    client.post("/cart/add", data={"book_id": books[0]})

    page = client.get("/checkout").get_data(as_text=True)

    assert 'value="1 Library Lane"' in page and 'value="Shanghai"' in page
    assert 'value="bank_transfer"' in page and 'value="cod"' in page
    assert "Pay on delivery" in page and "Bank transfer" in page
    assert "Member discount" not in page


def test_placing_an_order_shows_it_with_a_thank_you_and_the_payment_instructions(
        app, client, auth, books, member_id):
    dune, _ = books
    auth.login(EMAIL)
    client.post("/cart/add", data={"book_id": dune, "quantity": 2})

    response = client.post("/checkout", data=CHECKOUT)

    assert response.status_code == 302
    with app.app_context():
        order = db.session.scalar(sa.select(Order))
        number, order_id = order.number, order.id
    assert response.location.endswith(f"/orders/{order_id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "Thank you!" in page and number in page
    assert "Dune" in page and "1 Library Lane" in page
    assert "Demo Bank" in page and "Reference" in page
    assert stock(app, dune) == 3
    assert member_cart(app, member_id) == {}
    assert number in client.get("/orders").get_data(as_text=True)


def test_checkout_errors_keep_what_the_member_typed_and_write_nothing(app, client, auth, books,
                                                                      member_id):
    dune, _ = books
    auth.login(EMAIL)
    client.post("/cart/add", data={"book_id": dune})
    typed = dict(CHECKOUT, line1="22 Typed Street", city="", note="x" * 501,
                 payment_method="bitcoin")

    response = client.post("/checkout", data=typed)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="22 Typed Street"' in page
    assert "This is needed to deliver your parcel." in page
    assert "At most 500 characters." in page
    assert "Not a valid choice" in page or "choose a payment method" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert stock(app, dune) == 5


def test_a_book_that_sold_out_meanwhile_gives_a_409_naming_it_and_keeps_the_cart(
        app, client, auth, books, member_id):
    dune, emma = books
    auth.login(EMAIL)
    client.post("/cart/add", data={"book_id": dune, "quantity": 2})
    client.post("/cart/add", data={"book_id": emma})
    with app.app_context():  # another shopper buys the last Emma
        rival = make_member()
        place_order(rival, address=ShippingAddress(name="R", line1="L", city="C", postcode="P",
                                                    country="X"),
                    payment_method="cod", lines=[(emma, 1)], notify=False)
        db.session.commit()

    response = client.post("/checkout", data=CHECKOUT)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "“Emma” is sold out" in page
    assert 'value="1 Library Lane"' in page
    assert member_cart(app, member_id) == {dune: 2, emma: 1}
    assert stock(app, dune) == 5
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_ticking_save_address_stores_the_checkout_address_on_the_profile(app, client, auth, books,
                                                                         member_id):
    auth.login(EMAIL)
    client.post("/cart/add", data={"book_id": books[0]})

    client.post("/checkout", data=dict(CHECKOUT, line1="9 New Road", city="Hangzhou",
                                       save_address="y"))

    with app.app_context():
        member = db.session.get(Member, member_id)
        assert (member.address_line1, member.city) == ("9 New Road", "Hangzhou")


def test_without_the_tick_the_profile_address_stays(app, client, auth, books, member_id):
    auth.login(EMAIL)
    client.post("/cart/add", data={"book_id": books[0]})

    client.post("/checkout", data=dict(CHECKOUT, line1="9 New Road"))

    with app.app_context():
        assert db.session.get(Member, member_id).address_line1 == "1 Library Lane"


# --------------------------------------------------------------------------- orders


def test_another_members_order_is_404(app, client, auth, books, member_id):
    with app.app_context():
        stranger = make_member()
        order = place_order(stranger, address=ShippingAddress(name="S", line1="L", city="C",
                                                              postcode="P", country="X"),
                            payment_method="cod", lines=[(books[0], 1)], notify=False)
        db.session.commit()
        order_id = order.id
    auth.login(EMAIL)

    assert client.get(f"/orders/{order_id}").status_code == 404
    assert client.get("/orders/99999999").status_code == 404
    assert client.get(f"/orders/{10**30}").status_code == 404
    assert "not ordered anything yet" in client.get("/orders").get_data(as_text=True)


@pytest.mark.parametrize(("page", "status"), [("abc", 200), ("2", 200), ("0", 404),
                                              ("-1", 404), (str(10**20), 404)])
def test_the_order_list_copes_with_any_page_number(client, auth, member_id, page, status):
    auth.login(EMAIL)

    assert client.get(f"/orders?page={page}").status_code == status


def test_the_orders_pages_need_a_login(client):
    assert client.get("/orders").status_code == 302
    assert client.get("/orders/1").status_code == 302


# --------------------------------------------------------------------------- CSRF


class TestWithCsrfOn:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @pytest.mark.parametrize("path", ["/cart/add", "/cart/update", "/cart/remove"])
    def test_a_cart_post_without_a_token_is_refused(self, client, books, path):
        response = client.post(path, data={"book_id": books[0], "quantity": 1})

        assert response.status_code == 400
        assert session_cart(client) == {}

    def test_a_cart_post_with_the_token_from_the_page_works(self, client, books):
        token = csrf_token(client, f"/book/{books[0]}")

        response = client.post("/cart/add", data={"book_id": books[0], "csrf_token": token})

        assert response.status_code == 302
        assert session_cart(client) == {str(books[0]): 1}

    def test_checkout_without_a_token_is_refused_and_places_nothing(self, app, client, books,
                                                                    member_id):
        with app.app_context():
            cart.add(db.session.get(Member, member_id), {}, books[0], 1)
            db.session.commit()
        post_login(client, EMAIL, csrf=True)

        response = client.post("/checkout", data=CHECKOUT)

        assert response.status_code == 400
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
            assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0


# --------------------------------------------------------------------------- the tier seam


def test_a_member_discount_shows_as_its_own_line_on_cart_checkout_order_and_mail(
        app, client, auth, books, member_id, monkeypatch):
    from app.ordering import checkout

    # What the member-grade issue (#7) will do: give this member a 5 % rate.
    monkeypatch.setattr(checkout, "member_discount_rate", lambda member: Decimal("0.05"))
    dune, _ = books
    auth.login(EMAIL)
    client.post("/cart/add", data={"book_id": dune, "quantity": 2})  # 84.00

    cart_page = client.get("/cart").get_data(as_text=True)
    checkout_page = client.get("/checkout").get_data(as_text=True)
    order_page = client.get(client.post("/checkout", data=CHECKOUT).location).get_data(
        as_text=True)

    for page in (cart_page, checkout_page, order_page):
        assert "Member discount (5%)" in page
        assert re.search(r'data-testid="discount">[^<]*4\.20', page)
        assert re.search(r'data-testid="total">[^<]*89\.80', page)  # 84 - 4.20 + 10 shipping
    with app.app_context():
        order = db.session.scalar(sa.select(Order))
        assert (order.discount_rate, order.discount_total) == (Decimal("0.05"), Decimal("4.20"))
        mail = db.session.scalar(sa.select(OutboxMail))
        assert "Member discount (5%): -" in mail.body_text and "4.20" in mail.body_text


def test_a_refused_add_leads_back_to_the_page_it_came_from_and_keeps_nothing(
        app, client, books, member_id):
    dune, emma = books
    post_login(client, EMAIL)
    client.post("/cart/add", data={"book_id": dune})

    response = client.post("/cart/add", data={"book_id": emma, "quantity": 2,
                                              "next": f"/book/{emma}"})

    assert response.status_code == 303 and response.location.endswith(f"/book/{emma}")
    assert member_cart(app, member_id) == {dune: 1}
    page = client.get("/cart").get_data(as_text=True)
    assert "only 1 copy of “Emma” is in stock" in page
