"""The congratulation on a move up reaches the member over real SMTP, exactly once."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.core.extensions import db
from app.grades.bulk_regrade import recompute_all
from app.grades.staff_grades import set_member_grade
from app.mail.sender import deliver_due
from app.models import MailStatus, OrderStatus, OutboxMail
from app.ordering.orders import change_status
from tests.factories import make_admin, make_member, make_placed_order


def _pay(member, total: str):
    amount = Decimal(total)
    order = make_placed_order(member, subtotal=amount, shipping_fee=Decimal("0.00"), total=amount)
    change_status(order, OrderStatus.PAID)
    return order


def test_a_member_who_moves_up_gets_one_congratulation_by_mail(ctx, smtp_inbox):
    member = make_member(email="rita@example.test", name="Rita Reader")
    _pay(member, "1980.00")  # Silver
    db.session.commit()
    deliver_due()
    smtp_inbox.messages.clear()

    _pay(member, "25.00")  # 2,005.00: Gold
    db.session.commit()
    first = deliver_due()
    recompute_all()  # nothing changes, so nothing more is queued
    db.session.commit()
    second = deliver_due()

    assert len(first.sent) == 1 and second.claimed == 0
    [message] = smtp_inbox.parsed()
    assert message["To"] == "rita@example.test"
    assert "Gold" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Rita Reader" in body and "10%" in body and "Silver" in body
        assert "http://localhost/account/grade" in body
        assert "2,995.00" in body  # still needed for Platinum
    assert db.session.scalars(sa.select(OutboxMail.status).where(
        OutboxMail.kind == "grade_up")).all() == [MailStatus.SENT, MailStatus.SENT]


def test_moving_down_sends_no_mail(ctx, smtp_inbox):
    member = make_member()
    order = _pay(member, "600.00")
    db.session.commit()
    deliver_due()
    smtp_inbox.messages.clear()

    change_status(order, OrderStatus.CANCELLED)
    db.session.commit()
    report = deliver_due()

    assert member.tier_code == "regular"
    assert report.claimed == 0 and smtp_inbox.messages == []


def test_an_admin_raising_a_grade_by_hand_congratulates_the_member(ctx, smtp_inbox):
    member = make_member(email="vip@example.test")
    set_member_grade(member, "platinum", "Book club organiser", make_admin())
    db.session.commit()

    deliver_due()

    [message] = smtp_inbox.parsed()
    assert message["To"] == "vip@example.test" and "Platinum" in message["Subject"]
    assert "highest grade" in message.get_body(("plain",)).get_content()
