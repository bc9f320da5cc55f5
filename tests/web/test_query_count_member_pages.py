"""A member's cart, checkout, orders and account pages run a fixed number of SQL statements,
whether the cart holds two books or twelve and the member has one order or eight (no N+1)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Member
from app.services import cart
from app.services.checkout import ShippingAddress, place_order
from tests.factories import make_book, make_category, make_member
from tests.web.test_shop_query_counts import counting_statements

ADDRESS = ShippingAddress(name="Counter", line1="1 Query Road", city="Shanghai",
                          postcode="200000", country="China")


@pytest.fixture
def member(app):
    with app.app_context():
        make_category(slug="fiction", name="Fiction")
        make_member(email="member@example.test", password="correct horse 1")
        db.session.commit()


def fill(app, books: int, orders: int) -> None:
    """Give the member `orders` orders of 2 books each, then a cart of `books` books."""
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.email == "member@example.test"))
        for _ in range(orders):
            for _ in range(2):
                cart.add(member, {}, make_book(stock_on_hand=50).id, 1)
            place_order(member, address=ADDRESS, payment_method="cod")
        cart.clear(member, {})
        for _ in range(books):
            cart.add(member, {}, make_book(stock_on_hand=50).id, 1)
        db.session.commit()


def latest_order_url(app) -> str:
    from app.models import Order

    with app.app_context():
        return f"/orders/{db.session.scalar(sa.select(sa.func.max(Order.id)))}"


PAGES = ["/cart", "/checkout", "/orders", "/account/", "/account/profile", "/account/password"]


@pytest.mark.parametrize("url", PAGES + ["latest order"])
def test_a_member_page_runs_the_same_few_queries_for_a_small_or_a_big_history(
        app, client, auth, member, url):
    fill(app, books=2, orders=1)
    auth.login()
    target = latest_order_url(app) if url == "latest order" else url
    client.get(target)  # warm the header's category cache

    with counting_statements(app) as few:
        assert client.get(target).status_code == 200
    fill(app, books=12, orders=8)
    target = latest_order_url(app) if url == "latest order" else url
    with counting_statements(app) as many:
        assert client.get(target).status_code == 200

    assert len(few) == len(many), (few, many)
    assert len(many) <= 8, many


def test_a_members_cached_catalog_page_reads_only_the_member_and_their_cart_badge_at_once(
        app, client, auth, member):
    fill(app, books=3, orders=0)
    auth.login()
    client.get("/")  # fills the page cache and reads the login message

    with counting_statements(app) as statements:
        page = client.get("/").get_data(as_text=True)

    assert len(statements) == 1, statements  # the member with their cart badge
    assert 'data-testid="cart-count">3<' in page.replace("\n", "").replace(" ", "")


def test_after_adding_to_the_cart_the_badge_is_counted_afresh(app, client, auth, member):
    fill(app, books=1, orders=0)
    auth.login()
    with app.app_context():
        book_id = make_book(stock_on_hand=5).id
        db.session.commit()

    client.post("/cart/add", data={"book_id": book_id, "quantity": 2})
    page = client.get("/").get_data(as_text=True)

    assert 'data-testid="cart-count">3<' in page.replace("\n", "").replace(" ", "")
