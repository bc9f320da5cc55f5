"""Fixtures for the service-case tests: a member with a delivered order, staff, and the links
the case mails carry."""

from __future__ import annotations

import re

import pytest

from app.core.extensions import db
from app.models import OrderStatus
from tests.factories import make_book, make_member, make_placed_order, make_staff

LINK = re.compile(r"http://localhost(/\S+)")


@pytest.fixture
def people(app) -> dict:
    """Rita (a member with a delivered order of "Dune"), Sam (staff) and Tom (staff); ids."""
    with app.app_context():
        rita = make_member(email="rita@example.test", name="Rita Reader")
        sam = make_staff(email="sam@example.test", name="Sam Support")
        tom = make_staff(email="tom@example.test", name="Tom Team")
        dune = make_book(title="Dune")
        order = make_placed_order(rita, lines=[(dune, 1)], status=OrderStatus.DELIVERED)
        db.session.commit()
        return {"rita": rita.id, "sam": sam.id, "tom": tom.id, "order": order.id,
                "dune": dune.id}


def links_in(text: str) -> list[str]:
    return LINK.findall(text)
