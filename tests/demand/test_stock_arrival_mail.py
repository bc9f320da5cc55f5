"""The stock-arrival mail over real SMTP: who gets it, what it says, and only when still wanted."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.core.extensions import db
from app.demand import lists as demand_service
from app.demand import reports, tokens, unsubscribe
from app.demand.stock import receive_stock
from app.mail.sender import deliver_due
from app.models import Demand, DemandStatus, Hold, HoldStatus, Member
from tests.factories import make_book, make_demand, make_member
from tests.helpers import deliver_once_the_server_is_back, smtp_down


def waiting_book(*members: Member, title: str = "Dune") -> int:
    book = make_book(title=title, stock_on_hand=0)
    for member in members:
        make_demand(member, book)
    db.session.commit()
    return book.id


def test_every_waiting_member_receives_the_arrival_mail_with_link_and_unsubscribe_header(
        ctx, smtp_inbox):
    alice, bob = make_member(name="Alice"), make_member(name="Bob")
    book_id = waiting_book(alice, bob)

    receive_stock(book_id, 5)
    db.session.commit()
    report = deliver_due()

    assert len(report.sent) == 2
    assert sorted(rcpt[0] for _, rcpt, _ in smtp_inbox.messages) == sorted(
        [alice.email, bob.email])
    message = next(m for m in smtp_inbox.parsed() if m["To"] == alice.email)
    assert message["Subject"] == "In stock: Dune"
    text = message.get_body(("plain",)).get_content()
    assert f"http://localhost/book/{book_id}" in text
    assert "Hello Alice" in text and "holding 1 copy for you" in text
    header = message["List-Unsubscribe"]
    assert re.fullmatch(r"<http://localhost/demand/unsubscribe/[\w.\-]+>", header)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header[1:-1] in text
    html = message.get_body(("html",)).get_content()
    assert f'href="http://localhost/book/{book_id}"' in html and "Alice" in html


def test_smtp_down_during_the_receipt_loses_nothing_and_each_mail_goes_once_when_back(app):
    port = smtp_down(app)
    with app.app_context():
        members = [make_member() for _ in range(3)]
        book_id = waiting_book(*members)
        receive_stock(book_id, 3)
        db.session.commit()

        down = deliver_due()
        assert len(down.failed) == 3 and not down.sent

        inbox, back, again = deliver_once_the_server_is_back(port)

        assert len(back.sent) == 3 and again.claimed == 0
        assert sorted(r[0] for _, r, _ in inbox.messages) == sorted(m.email for m in members)


def test_a_member_who_opts_out_after_the_receipt_is_not_mailed(ctx, smtp_inbox):
    stays, leaves = make_member(), make_member()
    book_id = waiting_book(stays, leaves)
    receive_stock(book_id, 2)
    db.session.commit()

    demand_service.set_preferences(leaves, stock_alerts=False, news=True)
    db.session.commit()
    report = deliver_due()

    assert len(report.sent) == 1 and len(report.cancelled) == 1
    assert [r for _, r, _ in smtp_inbox.messages] == [[stays.email]]


def test_opting_out_before_the_arrival_mail_left_passes_the_held_copy_to_the_next_reader(
        ctx, smtp_inbox):
    """Unsubscribed while their arrival mail still waited in the outbox: the reader was never
    told, so nothing stays held for them and they do not count as notified."""
    leaves, next_in_line = make_member(), make_member()
    book_id = waiting_book(leaves, next_in_line)
    receive_stock(book_id, 1)
    db.session.commit()

    unsubscribe.unsubscribe(tokens.token_for_member(leaves.id))
    db.session.commit()
    report = deliver_due()

    assert len(report.sent) == 1 and len(report.cancelled) == 1
    assert [r for _, r, _ in smtp_inbox.messages] == [[next_in_line.email]]
    held = db.session.execute(sa.select(Demand.member_id, Hold.status)
                              .join(Demand, Hold.demand_id == Demand.id).order_by(Hold.id)).all()
    assert held == [(leaves.id, HoldStatus.RELEASED), (next_in_line.id, HoldStatus.ACTIVE)]
    demand = db.session.scalar(sa.select(Demand).where(Demand.member_id == leaves.id))
    assert demand.status == DemandStatus.OPEN and demand.notified_at is None
    assert demand.open_key == f"{leaves.id}:{book_id}"
    assert reports.conversion()[0].notified == 1


def test_a_reader_already_told_keeps_the_held_copy_after_opting_out(ctx, smtp_inbox):
    reader = make_member()
    book_id = waiting_book(reader)
    receive_stock(book_id, 1)
    db.session.commit()
    deliver_due()

    demand_service.set_preferences(reader, stock_alerts=False, news=False)
    db.session.commit()

    assert db.session.scalar(sa.select(Hold.status)) == HoldStatus.ACTIVE
    assert db.session.scalar(sa.select(Demand.status)) == DemandStatus.NOTIFIED


def test_a_demand_cancelled_after_the_receipt_is_not_mailed(ctx, smtp_inbox):
    stays, cancels = make_member(), make_member()
    book_id = waiting_book(stays, cancels)
    receive_stock(book_id, 2)
    db.session.commit()
    demand = db.session.scalar(sa.select(Demand).where(Demand.member_id == cancels.id))

    demand_service.cancel_demand(cancels, demand.id)
    db.session.commit()
    deliver_due()

    assert [r for _, r, _ in smtp_inbox.messages] == [[stays.email]]


def test_a_title_and_name_outside_ascii_arrive_intact(ctx, smtp_inbox):
    reader = make_member(name="李雷")
    book_id = waiting_book(reader, title="三体")

    receive_stock(book_id, 1)
    db.session.commit()
    deliver_due()

    [message] = smtp_inbox.parsed()
    assert message["Subject"] == "In stock: 三体"
    assert "Hello 李雷" in message.get_body(("plain",)).get_content()
    assert "三体" in message.get_body(("html",)).get_content()


def test_send_time_checks_cost_the_same_few_queries_for_3_or_30_mails(app, smtp_inbox):
    from tests.helpers import counting_statements

    counts = []
    for readers in (3, 30):
        with app.app_context():
            book_id = waiting_book(*[make_member() for _ in range(readers)])
            receive_stock(book_id, readers)
            db.session.commit()
        with counting_statements(app) as statements, app.app_context():
            report = deliver_due(limit=100)
        assert len(report.sent) == readers
        counts.append(len([s for s in statements if "demand" in s.lower()]))

    assert counts[0] == counts[1] == 1  # one look at the demands per batch
