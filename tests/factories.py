"""Plain factory functions with sensible defaults; call them inside an app context.

They flush (so ids exist) but leave committing to the test, like the services do.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from functools import lru_cache

from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Book, Category, Member, Role
from app.services.text import fold

_seq = itertools.count(1)

DEFAULT_PASSWORD = "correct horse 1"


@lru_cache(maxsize=16)
def _hash(password: str) -> str:
    return generate_password_hash(password)


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
    book.search_text = fold(" ".join(filter(None, [book.title, book.authors, book.isbn10,
                                                   book.isbn13])))
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
