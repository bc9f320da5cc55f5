"""Member demand: recording, updating, cancelling, uncatalogued requests and matching by ISBN."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.catalog import editing as books_admin
from app.core.audit.models import AuditEntry
from app.core.exports import csv_safe
from app.core.extensions import db
from app.demand import lists as demand_service
from app.demand import reports, uncatalogued
from app.demand.rules import (
    AlreadyInStock,
    DemandClosed,
    DemandFieldError,
    DuplicateRequest,
)
from app.models import Demand, DemandStatus
from tests.factories import make_book, make_demand, make_member, make_staff

ISBN13 = "9780306406157"  # valid check digit
ISBN10 = "0-306-40615-2"  # the same book as an ISBN-10


def demands() -> list[Demand]:
    return list(db.session.scalars(sa.select(Demand).order_by(Demand.id)))


def test_a_member_records_demand_for_an_out_of_stock_book(ctx):
    member, book = make_member(), make_book(stock_on_hand=0)

    demand = demand_service.record_demand(member, book, 2, "  hardback please ")
    db.session.commit()

    assert demand.status == DemandStatus.OPEN and demand.quantity == 2
    assert demand.note == "hardback please"
    assert demand.open_key == f"{member.id}:{book.id}"


def test_asking_again_updates_the_open_demand_instead_of_adding_one(ctx):
    member, book = make_member(), make_book(stock_on_hand=0)
    demand_service.record_demand(member, book, 1)

    again = demand_service.record_demand(member, book, 3, "any edition")
    db.session.commit()

    assert [(d.id, d.quantity, d.note) for d in demands()] == [(again.id, 3, "any edition")]


def test_demand_for_a_book_in_stock_is_refused_with_a_clear_message(ctx):
    member, book = make_member(), make_book(title="Plenty", stock_on_hand=4)

    with pytest.raises(AlreadyInStock, match="Plenty.*in stock"):
        demand_service.record_demand(member, book, 1)
    assert demands() == []


@pytest.mark.parametrize("quantity", [0, -1, 100, "2", 1.5, True])
def test_a_quantity_outside_1_to_99_is_refused(ctx, quantity):
    member, book = make_member(), make_book(stock_on_hand=0)

    with pytest.raises(DemandFieldError) as info:
        demand_service.record_demand(member, book, quantity)
    assert info.value.field == "quantity"
    assert demands() == []


def test_an_over_long_note_is_refused_and_nothing_is_written(ctx):
    member, book = make_member(), make_book(stock_on_hand=0)

    with pytest.raises(DemandFieldError, match="500"):
        demand_service.record_demand(member, book, 1, "x" * 501)
    assert demands() == []


def test_the_database_refuses_a_second_open_demand_for_the_same_member_and_book(ctx):
    member, book = make_member(), make_book(stock_on_hand=0)
    make_demand(member, book)
    db.session.commit()

    with pytest.raises(IntegrityError):
        make_demand(member, book)
    db.session.rollback()


def test_a_closed_demand_does_not_block_a_new_one(ctx):
    member, book = make_member(), make_book(stock_on_hand=0)
    first = make_demand(member, book)
    demand_service.cancel_demand(member, first.id)

    second = demand_service.record_demand(member, book, 1)
    db.session.commit()

    assert first.open_key is None and second.open_key == f"{member.id}:{book.id}"


def test_cancelling_closes_the_demand_and_cancelling_twice_is_refused(ctx):
    member = make_member()
    demand = make_demand(member)

    demand_service.cancel_demand(member, demand.id)
    db.session.commit()

    assert demand.status == DemandStatus.CANCELLED and demand.cancelled_at is not None
    with pytest.raises(DemandClosed):
        demand_service.cancel_demand(member, demand.id)


def test_a_member_cannot_cancel_another_members_demand(ctx):
    owner, other = make_member(), make_member()
    demand = make_demand(owner)

    with pytest.raises(demand_service.NotFound):
        demand_service.cancel_demand(other, demand.id)
    assert demand.status == DemandStatus.OPEN


def test_a_request_for_a_book_we_do_not_carry_is_kept_with_a_normalised_isbn(ctx):
    member = make_member()

    demand = uncatalogued.request_uncatalogued(member, "  The Lost  Book ", "A. Writer",
                                               ISBN10, "for my class")
    db.session.commit()

    assert demand.book_id is None and demand.requested_isbn == ISBN13
    assert demand.requested_title == "The Lost Book" and demand.title_key == "the lost book"


def test_an_invalid_isbn_is_refused(ctx):
    with pytest.raises(DemandFieldError) as info:
        uncatalogued.request_uncatalogued(make_member(), "Title", None, "978-0-306-40615-8")
    assert info.value.field == "isbn"
    assert demands() == []


def test_a_duplicate_request_is_refused_clearly(ctx):
    member = make_member()
    uncatalogued.request_uncatalogued(member, "The Lost Book", None, ISBN13)

    with pytest.raises(DuplicateRequest, match="already asked"):
        uncatalogued.request_uncatalogued(member, "Another title", None, ISBN10)
    uncatalogued.request_uncatalogued(member, "Untitled Poems", None, None)
    with pytest.raises(DuplicateRequest):
        uncatalogued.request_uncatalogued(member, "untitled   POEMS", None, None)
    assert len(demands()) == 2


def test_a_request_with_an_isbn_we_carry_becomes_a_normal_demand(ctx):
    member = make_member()
    book = make_book(isbn13=ISBN13, stock_on_hand=0)

    demand = uncatalogued.request_uncatalogued(member, "whatever", None, ISBN10)

    assert demand.book_id == book.id and demand.open_key == f"{member.id}:{book.id}"


def test_adding_a_book_with_the_requested_isbn_links_the_request_to_it(ctx):
    member = make_member()
    request = uncatalogued.request_uncatalogued(member, "The Lost Book", None, ISBN13)

    book = books_admin.create_book(books_admin.BookInput(
        title="The Lost Book", authors="A. Writer", price=Decimal("9.00"),
        stock_on_hand=0, isbn=ISBN10))
    db.session.commit()

    assert request.book_id == book.id and request.status == DemandStatus.OPEN
    assert request.open_key == f"{member.id}:{book.id}"


def test_editing_a_books_isbn_to_the_requested_one_links_the_request(ctx):
    member = make_member()
    request = uncatalogued.request_uncatalogued(member, "The Lost Book", None, ISBN13)
    book = make_book(stock_on_hand=0)
    data = books_admin.BookInput(title=book.title, authors=book.authors, price=book.price,
                                 stock_on_hand=0, isbn=ISBN13)

    books_admin.update_book(book, data)

    assert request.book_id == book.id


def test_staff_link_a_title_group_to_a_book_and_an_existing_demand_merges(ctx):
    alice, bob = make_member(), make_member()
    book = make_book(stock_on_hand=0)
    uncatalogued.request_uncatalogued(alice, "Rare Poems", None, None, quantity=3)
    uncatalogued.request_uncatalogued(bob, "rare poems", None, None)
    existing = make_demand(alice, book, quantity=1)

    count = uncatalogued.link_group("title:rare poems", book)
    db.session.commit()

    assert count == 2
    rows = [(d.member_id, d.book_id, d.quantity) for d in demands()]
    assert sorted(rows) == sorted([(alice.id, book.id, 3), (bob.id, book.id, 1)])
    assert existing.quantity == 3


def test_demand_by_book_aggregates_counts_quantities_and_suggests_what_to_buy(ctx):
    wanted = make_book(title="Wanted", stock_on_hand=0)
    some = make_book(title="Some Left", stock_on_hand=0)
    for quantity in (1, 2, 3):
        make_demand(book=wanted, quantity=quantity)
    make_demand(book=some, quantity=2)
    make_demand(book=some, quantity=1)
    some.stock_on_hand = 5  # arrived on the shelf since
    make_demand(book=wanted, status=DemandStatus.CANCELLED, quantity=50)
    make_demand(book=wanted, email="visitor@example.test")  # unconfirmed: does not count
    db.session.commit()

    page = reports.demand_by_book(sort="waiting")

    rows = {d.title: (d.waiting, d.quantity, d.stock, d.suggested) for d in page.items}
    assert rows == {"Wanted": (3, 6, 0, 6), "Some Left": (2, 3, 5, 0)}
    assert [d.title for d in page.items] == ["Wanted", "Some Left"]
    assert page.items[0].oldest <= page.items[0].newest


def test_demand_by_book_filters_and_paginates(ctx):
    for n in range(3):
        make_demand(book=make_book(title=f"Sea {n}", stock_on_hand=0))
    make_demand(book=make_book(title="Mountain", stock_on_hand=0))
    db.session.commit()

    assert reports.demand_by_book(q="sea").total == 3
    page = reports.demand_by_book(sort="title", page=2, per_page=3)
    assert page.pages == 2 and [d.title for d in page.items] == ["Sea 2"]


def test_the_csv_rows_carry_raw_values_and_the_export_neutralises_formula_cells(ctx):
    make_demand(book=make_book(title="=HYPERLINK(\"x\")", authors="@evil", stock_on_hand=0))
    db.session.commit()

    header, row = list(reports.demand_csv_rows())

    assert header[0] == "book_id"
    assert row[1] == "=HYPERLINK(\"x\")" and row[2] == "@evil"
    assert [csv_safe(v) for v in (row[1], "+1", "-2", "\tx", "ok", None)] == [
        "'=HYPERLINK(\"x\")", "+1", "-2", "'\tx", "ok", ""]


def test_linking_a_group_by_staff_is_audited_by_the_service_itself(ctx):
    book = make_book(title="Rare Poems", stock_on_hand=0)
    uncatalogued.request_uncatalogued(make_member(), "Rare Poems", None, None)
    staff = make_staff()

    uncatalogued.link_group("title:rare poems", book, actor=staff)
    db.session.commit()

    entry = db.session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.actor_id, entry.target_id) == (
        "demand.link_requests", staff.id, book.id)
    assert entry.after == {"group": "title:rare poems", "requests": 1}
