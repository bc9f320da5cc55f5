"""Staff side of demand: the aggregate page, CSV export, linking requests, stock arrivals."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.db import utcnow
from app.core.extensions import db
from app.demand import reports, uncatalogued
from app.models import Book, Demand, DemandStatus, OutboxMail, StockReceipt
from tests.factories import make_book, make_demand, make_member
from tests.pages import post_login


def _waiting_book(app, title="Dune", readers=2, isbn13=None) -> int:
    with app.app_context():
        book = make_book(title=title, stock_on_hand=0, isbn13=isbn13)
        for n in range(readers):
            make_demand(book=book, quantity=n + 1)
        db.session.commit()
        return book.id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_demand_page_shows_the_aggregate_before_and_the_notified_state_after(app, staff):
    book_id = _waiting_book(app, readers=2)

    before = staff.get("/admin/demand").get_data(as_text=True)
    row = re.search(rf'data-testid="demand-book-{book_id}".*?</tr>', before, re.S).group(0)
    assert "Dune" in row and re.findall(r'<td class="num">(?:<strong>)?(\d+)', row) == [
        "2", "3", "0", "3"]

    response = staff.post("/admin/stock/receipts", data={
        "book": str(book_id), "quantity": "3", "supplier": "Penguin", "reference": "INV-9"})

    assert response.status_code == 302
    after = staff.get("/admin/demand").get_data(as_text=True)
    assert f"demand-book-{book_id}" not in after
    assert re.search(r'data-testid="conv-notified">2<', after)
    with app.app_context():
        assert db.session.get(Book, book_id).stock_on_hand == 0  # all 3 copies held
        assert db.session.scalar(sa.select(sa.func.count(OutboxMail.id))) == 2


def test_a_reader_with_stock_alerts_off_is_still_waiting_and_not_counted_as_told(app, staff):
    with app.app_context():
        book = make_book(title="Quiet Days", stock_on_hand=0)
        make_demand(make_member(stock_alerts_opt_in=False), book)
        make_demand(make_member(), book)
        db.session.commit()
        book_id = book.id

    staff.post("/admin/stock/receipts", data={"book": str(book_id), "quantity": "2"})

    page = staff.get("/admin/demand").get_data(as_text=True)
    assert re.search(r'data-testid="conv-notified">1<', page)
    row = re.search(rf'data-testid="demand-book-{book_id}".*?</tr>', page, re.S).group(0)
    # one reader still waiting, one copy on the shelf (the other is held for the keen reader)
    assert re.findall(r'<td class="num">(?:<strong>)?(\d+)', row) == ["1", "1", "1", "0"]
    assert "1/1" not in row and "0/1" in row  # the book's own conversion: one reader told


def test_the_demand_page_sorts_filters_and_refuses_bad_query_strings(app, staff):
    _waiting_book(app, title="Sea Story", readers=1)
    _waiting_book(app, title="Mountain", readers=3)

    page = staff.get("/admin/demand?sort=title").get_data(as_text=True)
    assert page.index("Mountain") < page.index("Sea Story")
    filtered = staff.get("/admin/demand?q=sea").get_data(as_text=True)
    assert "Sea Story" in filtered and "Mountain" not in filtered
    assert staff.get("/admin/demand?sort=nonsense").status_code == 400
    assert staff.get("/admin/demand?page=abc").status_code == 404
    assert staff.get("/admin/demand?page=99").status_code == 404


def test_the_csv_export_streams_every_book_with_formulas_neutralised(app, staff):
    _waiting_book(app, title="=cmd|' /C calc'!A0", readers=2)
    _waiting_book(app, title="Plain", readers=1)

    response = staff.get("/admin/demand.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # a byte-order mark, so spreadsheets read UTF-8
    lines = text[1:].splitlines()
    assert lines[0].startswith("book_id,title,authors,isbn13,stock,members_waiting")
    assert len(lines) == 3
    assert ",'=cmd|' /C calc'!A0," in lines[1]


def test_conversion_counts_members_who_bought_within_7_and_30_days(app, staff):
    with app.app_context():
        book = make_book(stock_on_hand=0)
        now = utcnow()
        for bought_after in (timedelta(days=2), timedelta(days=20), None):
            make_demand(book=book, status=DemandStatus.FULFILLED if bought_after else
                        DemandStatus.NOTIFIED, created_at=now - timedelta(days=40),
                        notified_at=now - timedelta(days=30),
                        fulfilled_at=(now - timedelta(days=30) + bought_after)
                        if bought_after else None)
        db.session.commit()
        overall, per_book = reports.conversion([book.id])

    assert (overall.notified, overall.bought_7, overall.bought_30) == (3, 1, 2)
    assert overall.median_wait_days == 10.0
    page = staff.get("/admin/demand").get_data(as_text=True)
    assert re.search(r'data-testid="conv-7">1 ', page)


def test_staff_link_uncatalogued_requests_to_a_book(app, staff):
    with app.app_context():
        reader = make_member()
        uncatalogued.request_uncatalogued(reader, "Rare Poems", "Someone", None, "please")
        book = make_book(title="Rare Poems", stock_on_hand=0, isbn13="9780306406157")
        db.session.commit()
        book_id = book.id

    page = staff.get("/admin/demand/requests").get_data(as_text=True)
    assert "Rare Poems" in page and "please" in page

    response = staff.post("/admin/demand/requests/link",
                          data={"group": "title:rare poems", "book": "0-306-40615-2"})

    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.book_id)) == book_id
    assert "Rare Poems" in staff.get("/admin/demand").get_data(as_text=True)


def test_linking_to_an_unknown_book_is_refused_beside_the_field(app, staff):
    with app.app_context():
        uncatalogued.request_uncatalogued(make_member(), "Rare Poems", None, None)
        db.session.commit()

    response = staff.post("/admin/demand/requests/link",
                          data={"group": "title:rare poems", "book": "424242"})

    assert response.status_code == 400
    assert "No book has that id or ISBN." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Demand.book_id)) is None


@pytest.mark.parametrize(("quantity", "message"), [
    ("0", "from 1 to 100000"),
    ("-4", "from 1 to 100000"),
    ("2.5", "Not a valid integer"),
    ("abc", "Not a valid integer"),
    ("", "Enter how many copies arrived."),
    ("100001", "from 1 to 100000"),
])
def test_a_receipt_with_a_bad_quantity_is_refused_and_nothing_is_written(app, staff, quantity,
                                                                         message):
    book_id = _waiting_book(app)

    response = staff.post("/admin/stock/receipts", data={"book": str(book_id),
                                                         "quantity": quantity})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert f'value="{book_id}"' in response.get_data(as_text=True)
    assert _count(app, StockReceipt) == 0 and _count(app, OutboxMail) == 0


def test_a_receipt_for_an_unknown_book_is_refused(app, staff):
    response = staff.post("/admin/stock/receipts", data={"book": "9999999", "quantity": "3"})

    assert response.status_code == 400
    assert "No book has that id or ISBN." in response.get_data(as_text=True)
    assert _count(app, StockReceipt) == 0


def test_a_receipt_by_isbn_is_recorded_and_listed(app, staff):
    _waiting_book(app, title="Isbn Book", readers=1, isbn13="9780306406157")

    response = staff.post("/admin/stock/receipts", data={"book": "978-0-306-40615-7",
                                                         "quantity": "2"})

    assert response.status_code == 302
    page = staff.get("/admin/stock/receipts").get_data(as_text=True)
    assert "Isbn Book" in page


def test_members_cannot_reach_the_demand_admin(app, client):
    with app.app_context():
        make_member(email="m@example.test")
        db.session.commit()
    post_login(client, "m@example.test")

    assert client.get("/admin/demand").status_code == 403
    assert client.post("/admin/stock/receipts", data={"book": "1", "quantity": "1"}) \
        .status_code == 403


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_stock_receipt_without_its_token_is_refused(self, app, staff):
        book_id = _waiting_book(app)

        response = staff.post("/admin/stock/receipts", data={"book": str(book_id),
                                                             "quantity": "3"})

        assert response.status_code == 400
        assert _count(app, StockReceipt) == 0

    def test_linking_requests_without_the_token_is_refused(self, app, staff):
        with app.app_context():
            uncatalogued.request_uncatalogued(make_member(), "Rare Poems", None, None)
            make_book(title="x", stock_on_hand=0)
            db.session.commit()

        response = staff.post("/admin/demand/requests/link",
                              data={"group": "title:rare poems", "book": "1"})

        assert response.status_code == 400
        with app.app_context():
            assert db.session.scalar(sa.select(Demand.book_id)) is None


def _audit(app, action: str):
    from app.core.audit.models import AuditEntry

    with app.app_context():
        return [(e.actor_label, e.target_type, e.target_id, e.after, e.summary)
                for e in db.session.scalars(sa.select(AuditEntry)
                                            .where(AuditEntry.action == action))]


def test_a_stock_receipt_is_written_to_the_audit_log(app, staff):
    book_id = _waiting_book(app, readers=2)

    staff.post("/admin/stock/receipts", data={"book": str(book_id), "quantity": "5",
                                              "supplier": "Penguin", "reference": "DN-1"})

    with app.app_context():
        receipt_id = db.session.scalar(sa.select(StockReceipt.id))
    [(actor, target_type, target_id, after, summary)] = _audit(app, "stock.receive")
    assert (actor, target_type, target_id) == ("clerk@example.test", "stock_receipt", receipt_id)
    assert after["quantity"] == 5 and after["supplier"] == "Penguin" and after["notified"] == 2
    assert "Dune" in summary


def test_a_refused_receipt_writes_no_audit_entry(app, staff):
    book_id = _waiting_book(app)

    staff.post("/admin/stock/receipts", data={"book": str(book_id), "quantity": "0"})

    assert _audit(app, "stock.receive") == []


def test_linking_requests_is_written_to_the_audit_log(app, staff):
    with app.app_context():
        uncatalogued.request_uncatalogued(make_member(), "Rare Poems", None, None)
        book = make_book(title="Rare Poems", stock_on_hand=0)
        db.session.commit()
        book_id = book.id

    staff.post("/admin/demand/requests/link", data={"group": "title:rare poems",
                                                    "book": str(book_id)})

    [(actor, target_type, target_id, after, _)] = _audit(app, "demand.link_requests")
    assert (actor, target_type, target_id) == ("clerk@example.test", "book", book_id)
    assert after == {"group": "title:rare poems", "requests": 1}
