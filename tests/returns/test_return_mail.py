"""The member's mails about a return arrive on a real SMTP server, one per step, in order."""

from __future__ import annotations

from decimal import Decimal as D

from app.core.extensions import db
from app.mail.sender import deliver_due
from app.returns import requests
from tests.factories import make_member, make_staff
from tests.returns.support import paid_order


def test_every_step_of_a_return_mails_the_member_once(ctx, smtp_inbox):
    member = make_member(email="rita@example.test", name="Rita Reader")
    order = paid_order(member)
    db.session.commit()
    deliver_due()
    smtp_inbox.messages.clear()  # the order's own mails
    staff = make_staff()

    made = requests.request_return(order, member, {order.lines[0].id: 2}, "damaged")
    requests.approve(made, staff)
    requests.receive(made, staff, {made.lines[0].id: (2, "resaleable")})
    requests.refund_return(made, staff, lines=D("40.00"), shipping=None, goodwill=None)
    db.session.commit()
    deliver_due()
    deliver_due()  # nothing is sent twice

    subjects = [m["Subject"] for m in smtp_inbox.parsed()]
    assert subjects[:2] == [
        f"We have your return request {made.number} for order {order.number}",
        f"Your return {made.number} is approved",
    ]
    assert subjects[2].startswith("We refunded ") and subjects[2].endswith(
        f"40.00 on order {order.number}") and len(subjects) == 3
    for message in smtp_inbox.parsed():
        assert message["To"] == "rita@example.test"
        text = message.get_body(("plain",)).get_content()
        assert "Hello Rita Reader," in text and f"/orders/{order.id}" in text
