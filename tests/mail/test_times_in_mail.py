"""Times in mails and pages are the shop's (SHOP_TIMEZONE, default Asia/Shanghai), with the zone
named, in the reader's language; the database keeps UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.core.extensions import db
from app.demand import allocation
from app.models import DemandStatus, Hold, HoldStatus, OutboxMail
from app.ordering.checkout import ShippingAddress, place_order
from tests.conftest import _make_config
from tests.factories import make_book, make_demand, make_member
from tests.pages import post_login

ARRIVED = datetime(2026, 12, 5, 11, 32, 48, tzinfo=UTC)  # held 48 h: until Dec 7, 11:32 UTC


@pytest.fixture
def app_config(request):
    return getattr(request, "param", {})


def arrival_mail(locale: str | None = None) -> str:
    """The arrival mail of a reader for whom one copy is held from ARRIVED."""
    book = make_book(title="Dune", stock_on_hand=0)
    make_demand(make_member(locale=locale), book)
    db.session.commit()
    allocation.lock_book(book.id)
    allocation.allocate(book.id, 1, source="t", now=ARRIVED)
    db.session.commit()
    return db.session.scalar(sa.select(OutboxMail.body_text).where(
        OutboxMail.kind == "stock_arrived"))


def test_the_hold_deadline_in_the_arrival_mail_is_shanghai_time_with_the_zone_named(ctx):
    body = arrival_mail()

    assert "until Dec 7, 2026, 7:32\u202fPM China Standard Time." in body
    assert "11:32" not in body


def test_a_chinese_reader_reads_the_deadline_in_chinese_with_the_zone_named(ctx):
    body = arrival_mail(locale="zh_Hans")

    assert "2026年12月7日 中国标准时间 19:32" in body


@pytest.mark.parametrize("app_config", [{"SHOP_TIMEZONE": "Europe/London"}], indirect=True)
def test_another_shop_time_zone_changes_the_time_and_its_name(ctx):
    body = arrival_mail()

    assert "until Dec 7, 2026, 11:32\u202fAM Greenwich Mean Time." in body


def test_the_order_confirmation_names_the_zone_of_the_time_it_was_placed(ctx):
    member = make_member()
    book = make_book(stock_on_hand=1)
    db.session.commit()

    order = place_order(member, address=ShippingAddress(
        name="A", line1="1 St", city="C", postcode="1", country="X"),
        payment_method="cod", lines=[(book.id, 1)])
    db.session.commit()

    body = db.session.scalar(sa.select(OutboxMail.body_text).where(
        OutboxMail.kind == "order_confirmation"))
    shanghai = order.placed_at.astimezone(UTC) + timedelta(hours=8)
    assert f"{shanghai:%b} {shanghai.day}, {shanghai:%Y}, {shanghai:%-I:%M}\u202f{shanghai:%p} " \
        "China Standard Time" in body  # (CLDR writes a narrow no-break space before AM/PM)


def test_a_page_shows_the_same_time_as_the_mail(app, client):
    with app.app_context():
        member = make_member(email="reader@example.test")
        book = make_book(title="Dune", stock_on_hand=0)
        demand = make_demand(member, book, status=DemandStatus.NOTIFIED)
        demand.open_key = None
        db.session.add(Hold(demand_id=demand.id, book_id=book.id, quantity=1, remaining=1,
                            status=HoldStatus.ACTIVE, created_at=ARRIVED,
                            expires_at=datetime(2099, 12, 7, 11, 32, tzinfo=UTC)))
        db.session.commit()
    post_login(client, "reader@example.test")

    page = client.get("/demand/").get_data(as_text=True)

    assert "1 copy held until Dec 7, 2099, 7:32\u202fPM China Standard Time" in page


def test_an_unknown_shop_time_zone_is_refused_at_start():
    with pytest.raises(RuntimeError, match="SHOP_TIMEZONE"):
        create_app(_make_config("sqlite://", SHOP_TIMEZONE="Mars/Olympus"))


@pytest.mark.parametrize("app_config", [{"SHOP_TIMEZONE": "Europe/London"}], indirect=True)
def test_summer_time_is_named_as_such(ctx):
    from app.core.formatting import when

    assert when(datetime(2026, 7, 7, 11, 32, tzinfo=UTC)) == \
        "Jul 7, 2026, 12:32\u202fPM British Summer Time"
    assert when(datetime(2026, 1, 7, 11, 32, tzinfo=UTC)) == \
        "Jan 7, 2026, 11:32\u202fAM Greenwich Mean Time"
