"""A member's cart, checkout, orders and account pages run a fixed number of SQL statements,
whether the cart holds two books or twelve and the member has one order or eight (no N+1)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Member
from app.ordering import cart
from app.ordering.checkout import ShippingAddress, place_order
from tests.factories import make_book, make_category, make_member
from tests.helpers import counting_statements

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


@pytest.mark.parametrize("lines_before", [1, 12])
def test_adding_to_a_members_cart_reads_the_member_the_book_and_the_cart_once_then_writes(
        app, client, auth, member, lines_before):
    fill(app, books=lines_before, orders=0)
    auth.login()
    client.get("/")
    with app.app_context():
        book_id = make_book(stock_on_hand=5).id
        db.session.commit()

    with counting_statements(app) as statements:
        assert client.post("/cart/add", data={"book_id": book_id}).status_code == 302

    # the member (with the badge), the book, the cart with its lines, the new line
    assert len(statements) == 4, statements
    assert statements[-1].startswith("INSERT INTO cart_line")


def _checkout_statements(app, client, auth, books: int) -> list[str]:
    from app.grades.table import ensure_default_tiers

    with app.app_context():
        ensure_default_tiers()  # saved, as the seed and the first grading leave it
        db.session.commit()
    fill(app, books=books, orders=3)
    auth.login()
    client.get("/")

    with counting_statements(app) as statements:
        placed = client.post("/checkout", data={
            "name": "Counter", "line1": "1 Query Road", "city": "Shanghai",
            "postcode": "200000", "country": "China", "payment_method": "cod"})

    assert placed.status_code == 302 and "/orders/" in placed.headers["Location"]
    return statements


def test_a_checkout_of_one_book_runs_a_fixed_budget_of_statements(app, client, auth, member):
    statements = _checkout_statements(app, client, auth, books=1)

    # member; the cart taken (read by the DELETE that empties it, with which of its books
    # have held copies); the books' prices (one plain read); discount; order, event and line;
    # the mail (no look-up for a new order's dedupe key, no query for the reader's language);
    # then the stock UPDATE (the book's row lock, held only from here to the commit); demand
    # met; order figures (added to, not recomputed from the history); the webhook endpoints
    # subscribed to order.placed (app.webhooks: one read, a delivery row each when there are
    # any). The order is not read again after the commit: what was written is what the
    # redirect needs.
    assert len(statements) == 12, "\n".join(s[:100] for s in statements)
    assert statements[1].startswith("DELETE FROM cart_line"), statements[1]
    assert sum(s.startswith("SELECT book") for s in statements) == 1, statements
    stock = next(n for n, s in enumerate(statements) if s.startswith("UPDATE book"))
    mail = next(n for n, s in enumerate(statements) if s.startswith("INSERT INTO outbox_mail"))
    assert stock > mail > next(n for n, s in enumerate(statements)
                               if s.startswith("INSERT INTO orders"))


@pytest.mark.parametrize("books", [1, 5])
def test_a_checkout_looks_for_held_copies_only_with_the_cart_when_none_are_held(
        app, client, auth, member, books):
    statements = _checkout_statements(app, client, auth, books=books)

    assert not [s for s in statements if s.startswith("SELECT hold")], statements
    assert not [s for s in statements if s.startswith("SELECT outbox_mail")], statements
    assert not [s for s in statements if "FROM orders" in s and s.startswith("UPDATE member")]


@pytest.mark.parametrize("lines", [1, 12])
def test_the_cart_page_reads_the_member_then_the_lines_with_their_books(
        app, client, auth, member, lines):
    from app.grades.table import ensure_default_tiers

    fill(app, books=lines, orders=0)
    with app.app_context():  # a shop's tier table, as the seed or the first grading writes it
        ensure_default_tiers()
        db.session.commit()
    auth.login()
    client.get("/cart")  # warm the header's category cache

    with counting_statements(app) as statements:
        page = client.get("/cart").get_data(as_text=True)

    # the member with the cart badge and the grade's discount; each line with its book
    assert len(statements) == 2, "\n".join(s[:120] for s in statements)
    assert "FROM member JOIN member_sessions" in statements[0], statements[0]
    assert "JOIN cart_line" in statements[1] and statements[1].startswith("SELECT book.id")
    assert page.count('data-testid="cart-line-') == lines


@pytest.mark.parametrize("books", [1, 8])
def test_the_order_page_reads_the_member_and_the_order_with_its_lines(
        app, client, auth, member, books):
    fill(app, books=books, orders=0)
    with app.app_context():
        owner = db.session.scalar(sa.select(Member).where(Member.email == "member@example.test"))
        place_order(owner, address=ADDRESS, payment_method="cod")
        db.session.commit()
    auth.login()
    url = latest_order_url(app)
    client.get(url)  # warm the header's category cache

    with counting_statements(app) as statements:
        page = client.get(url).get_data(as_text=True)

    # the member; the order with its lines (one join); not its history, which the page does
    # not show (it shows the dates kept on the order)
    assert len(statements) == 2, "\n".join(s[:100] for s in statements)
    assert "JOIN order_line" in statements[1], statements[1]
    assert page.count('<td class="num">') == 3 * books  # price, quantity, amount per line
