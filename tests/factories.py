"""Plain factory functions with sensible defaults; call them inside an app context.

They flush (so ids exist) but leave committing to the test, like the services do.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from functools import lru_cache

from flask import current_app
from werkzeug.security import generate_password_hash

from app.catalog.browse import search_text_for
from app.core.db import utcnow
from app.core.extensions import db
from app.models import Book, Category, Member, Role

_seq = itertools.count(1)

DEFAULT_PASSWORD = "correct horse 1"


def _hash(password: str) -> str:
    """The hash the shop would store (the app's PASSWORD_HASH_METHOD), kept per password."""
    return _hash_by(password, current_app.config["PASSWORD_HASH_METHOD"])


@lru_cache(maxsize=16)
def _hash_by(password: str, method: str) -> str:
    return generate_password_hash(password, method=method)


def make_category(**overrides) -> Category:
    n = next(_seq)
    values = {"slug": f"category-{n}", "name": f"Category {n}", "position": n}
    values.update(overrides)
    category = Category(**values)
    db.session.add(category)
    db.session.flush()
    return category


def make_book(**overrides) -> Book:
    n = next(_seq)
    values = {
        "title": f"Book {n}",
        "authors": "Ann Author",
        "price": Decimal("42.00"),
        "stock_on_hand": 5,
        "year": 2001,
    }
    values.update(overrides)
    book = Book(**values)
    book.search_text = search_text_for(book)
    db.session.add(book)
    db.session.flush()
    return book


def make_member(password: str = DEFAULT_PASSWORD, **overrides) -> Member:
    n = next(_seq)
    values = {
        "email": f"member{n}@example.test",
        "name": f"Member {n}",
        "role": Role.MEMBER,
        "password_hash": _hash(password),
        "email_verified_at": utcnow(),  # pass None for a member who never confirmed
    }
    values.update(overrides)
    member = Member(**values)
    db.session.add(member)
    db.session.flush()
    if member.member_no is None:
        member.member_no = f"M{member.joined_at.year}-{member.id:06d}"
        db.session.flush()
    return member


def make_staff(**overrides) -> Member:
    return make_member(role=Role.STAFF, **overrides)


def make_admin(**overrides) -> Member:
    return make_member(role=Role.ADMIN, **overrides)


# ------------------------------------------------------------- orders (ADMIN engineer)


def make_placed_order(member: Member | None = None, lines=None, **overrides):
    """An order as checkout leaves it: status placed, copies already taken off the shelf.

    `lines` is a list of (book, quantity); by default one copy of a new book.
    """
    from app.models import Order, OrderEvent, OrderLine, OrderStatus

    member = member or make_member()
    lines = lines or [(make_book(), 1)]
    order_lines = []
    subtotal = Decimal("0.00")
    for book, quantity in lines:
        book.stock_on_hand -= quantity
        book.sold_count += quantity
        line_total = book.price * quantity
        subtotal += line_total
        order_lines.append(OrderLine(book_id=book.id, title=book.title, authors=book.authors,
                                     unit_price=book.price, quantity=quantity,
                                     line_total=line_total))
    values = {
        "member_id": member.id,
        "email": member.email,
        "payment_method": "bank_transfer",
        "ship_name": member.name,
        "ship_line1": "1 Test Street",
        "ship_city": "Testville",
        "ship_postcode": "12345",
        "ship_country": "Testland",
        "subtotal": subtotal,
        "shipping_fee": Decimal("10.00"),
        "total": subtotal + Decimal("10.00"),
        "status": OrderStatus.PLACED,
    }
    values.update(overrides)
    order = Order(**values)
    order.lines = order_lines
    order.events = [OrderEvent(from_status=None, to_status=OrderStatus.PLACED)]
    db.session.add(order)
    db.session.flush()
    return order


# ------------------------------------------------------------- demand (DEMAND engineer)


def make_demand(member: Member | None = None, book: Book | None = None, **overrides):
    """An open demand of `member` for an out-of-stock `book` (both made when not given)."""
    from app.core.db import utcnow
    from app.models import Demand, DemandStatus

    book = book or make_book(stock_on_hand=0)
    values = {"book_id": book.id, "quantity": 1, "status": DemandStatus.OPEN,
              "created_at": utcnow()}
    if "email" not in overrides:
        member = member or make_member()
        values["member_id"] = member.id
    values.update(overrides)
    demand = Demand(**values)
    demand.open_key = demand.compute_open_key()
    db.session.add(demand)
    db.session.flush()
    return demand
