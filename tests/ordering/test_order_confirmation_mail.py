"""The order confirmation reaches the member over real SMTP, once."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.core.extensions import db
from app.mail.sender import deliver_due
from app.models import MailStatus, OutboxMail
from app.ordering import cart
from app.ordering.checkout import ShippingAddress, place_order
from tests.factories import make_book, make_member


def test_a_placed_order_mails_one_confirmation_with_its_number_and_total(ctx, smtp_inbox):
    member = make_member(email="ada@example.test", name="Ada Reader")
    book = make_book(title="Dune", price=Decimal("42.00"))
    cart.add(member, {}, book.id, 2)
    order = place_order(
        member,
        address=ShippingAddress(name="Ada Reader", line1="1 Library Lane", city="Shanghai",
                                postcode="200000", country="China"),
        payment_method="bank_transfer",
    )
    db.session.commit()

    first = deliver_due()
    second = deliver_due()

    assert len(first.sent) == 1 and second.claimed == 0
    [message] = smtp_inbox.parsed()
    assert message["To"] == "ada@example.test"
    assert order.number in message["Subject"] and "94.00" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert order.number in body
        assert "Dune" in body and "94.00" in body and "1 Library Lane" in body
        assert f"http://localhost/orders/{order.id}" in body
    assert "Demo Bank" in text  # the bank details, with the order number as the reference
    assert db.session.scalar(sa.select(OutboxMail.status)) == MailStatus.SENT
