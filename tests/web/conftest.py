"""Fixtures shared by the web tests."""

from __future__ import annotations

import pytest

from app.core.extensions import db
from tests.factories import make_book, make_category, make_demand, make_member


@pytest.fixture
def shelf(app) -> dict:
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        books = [make_book(title=f"Cached tale {n}", category=fiction, stock_on_hand=5)
                 for n in range(3)]
        out = make_book(title="Sold out tale", category=fiction, stock_on_hand=0)
        member = make_member(email="reader@example.test", name="Rosa Reader")
        make_demand(member=member, book=out)
        db.session.commit()
        return {"book": books[0].id, "out": out.id}
