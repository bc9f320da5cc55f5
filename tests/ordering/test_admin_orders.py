"""Staff follow orders and move them along: placed → paid → shipped → delivered, or cancelled."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book, Member, Order, OrderStatus
from tests.factories import make_book, make_member, make_placed_order
from tests.pages import csrf_token as _csrf_token


@pytest.fixture
def exporter(app, staff, staff_id):
    """The staff member, allowed by an admin to export the customer list (and so the orders)."""
    with app.app_context():
        db.session.get(Member, staff_id).may_export_customers = True
        db.session.commit()
    return staff


@pytest.fixture
def order_id(app) -> int:
    """Two copies of Dune and one of Emma, placed by Ada; 3 Dunes and 1 Emma left on the shelf."""
    with app.app_context():
        dune = make_book(title="Dune", price=Decimal("12.50"), stock_on_hand=5)
        emma = make_book(title="Emma", price=Decimal("8.00"), stock_on_hand=2)
        ada = make_member(email="ada@example.test", name="Ada Reader")
        order = make_placed_order(ada, [(dune, 2), (emma, 1)], ship_city="Lovelace Town")
        db.session.commit()
        return order.id


def _order(app, order_id: int) -> tuple[OrderStatus, list[tuple]]:
    with app.app_context():
        order = db.session.get(Order, order_id)
        events = [(e.from_status, e.to_status, e.actor_id, e.note) for e in order.events]
        return order.status, events


def _stock(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Book.title, Book.stock_on_hand)).all())


def _options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*name="status".*?</select>', page, re.S).group(0)
    return re.findall(r'<option[^>]*value="([^"]*)"', select)


def test_the_order_page_shows_lines_totals_address_and_history(staff, order_id):
    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)

    assert f"BS-{order_id:07d}" in page
    assert "Dune" in page and "Emma" in page
    assert "33.00" in page  # subtotal 2 × 12.50 + 8.00
    assert "43.00" in page  # with 10.00 shipping
    assert "Lovelace Town" in page and "ada@example.test" in page
    assert page.count('data-testid="order-event"') == 1


def test_a_placed_order_offers_only_its_allowed_next_statuses(staff, order_id):
    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)

    assert _options(page) == ["paid", "cancelled"]


def test_paying_then_shipping_records_each_step_with_the_staff_member(app, staff, staff_id,
                                                                       order_id):
    paid = staff.post(f"/admin/orders/{order_id}/status",
                      data={"status": "paid", "note": "Transfer arrived"})
    shipped = staff.post(f"/admin/orders/{order_id}/status", data={"status": "shipped"})

    status, events = _order(app, order_id)
    assert paid.status_code == shipped.status_code == 302
    assert status is OrderStatus.SHIPPED
    assert events[1:] == [
        (OrderStatus.PLACED, OrderStatus.PAID, staff_id, "Transfer arrived"),
        (OrderStatus.PAID, OrderStatus.SHIPPED, staff_id, None),
    ]
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.paid_at is not None and order.shipped_at is not None


def test_the_history_names_who_changed_the_order(staff, order_id):
    staff.post(f"/admin/orders/{order_id}/status", data={"status": "paid", "note": "Paid up"})

    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)

    assert page.count('data-testid="order-event"') == 2
    assert "Clara Clerk" in page and "Paid up" in page
    assert _options(page) == ["shipped", "cancelled"]


def test_an_illegal_transition_is_refused_with_a_message(app, staff, order_id):
    response = staff.post(f"/admin/orders/{order_id}/status", data={"status": "delivered"})

    status, events = _order(app, order_id)
    assert response.status_code == 400
    assert "An order that is placed cannot become delivered." in response.get_data(as_text=True)
    assert status is OrderStatus.PLACED
    assert len(events) == 1


@pytest.mark.parametrize("status", ["", "lost", "x" * 300])
def test_a_nonsense_status_is_refused(app, staff, order_id, status):
    response = staff.post(f"/admin/orders/{order_id}/status", data={"status": status})

    assert response.status_code == 400
    assert _order(app, order_id)[0] is OrderStatus.PLACED


def test_a_finished_order_offers_no_further_status(app, staff, order_id):
    staff.post(f"/admin/orders/{order_id}/status", data={"status": "cancelled"})

    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)

    assert 'name="status"' not in page
    assert "its life cycle is over" in page


def test_cancelling_an_order_puts_its_copies_back_on_the_shelf(app, staff, order_id):
    before = _stock(app)

    response = staff.post(f"/admin/orders/{order_id}/status",
                          data={"status": "cancelled", "note": "Customer asked"})

    assert response.status_code == 302
    assert before == {"Dune": 3, "Emma": 1}
    assert _stock(app) == {"Dune": 5, "Emma": 2}
    assert _order(app, order_id)[0] is OrderStatus.CANCELLED


def test_cancelling_twice_returns_the_stock_only_once(app, staff, order_id):
    staff.post(f"/admin/orders/{order_id}/status", data={"status": "cancelled"})
    again = staff.post(f"/admin/orders/{order_id}/status", data={"status": "cancelled"})

    assert again.status_code == 400
    assert _stock(app) == {"Dune": 5, "Emma": 2}


def test_a_missing_order_is_not_found(staff):
    assert staff.get("/admin/orders/999").status_code == 404
    assert staff.post("/admin/orders/999/status", data={"status": "paid"}).status_code == 404


# --------------------------------------------------------------------------- the list


@pytest.fixture
def three_orders(app) -> dict[str, int]:
    with app.app_context():
        ada = make_member(email="ada@example.test")
        bob = make_member(email="bob@example.test")
        ids = {
            "old": make_placed_order(ada, placed_at=datetime(2024, 1, 10, 9, tzinfo=UTC)).id,
            "paid": make_placed_order(bob, placed_at=datetime(2024, 3, 5, 23, 59, tzinfo=UTC),
                                      status=OrderStatus.PAID).id,
            "new": make_placed_order(ada, placed_at=datetime(2024, 6, 1, 0, 0, tzinfo=UTC)).id,
        }
        db.session.commit()
        return ids


def _listed(staff, query: str = "") -> list[int]:
    page = staff.get(f"/admin/orders?{query}").get_data(as_text=True)
    return [int(n) for n in re.findall(r'href="/admin/orders/(\d+)"', page)]


def test_the_list_shows_the_newest_orders_first(staff, three_orders):
    assert _listed(staff) == [three_orders["new"], three_orders["paid"], three_orders["old"]]


def test_the_list_filters_by_status(staff, three_orders):
    assert _listed(staff, "status=paid") == [three_orders["paid"]]


def test_the_list_filters_by_a_date_range_including_both_days(staff, three_orders):
    found = _listed(staff, "date_from=2024-03-05&date_to=2024-06-01")

    assert found == [three_orders["new"], three_orders["paid"]]


def test_the_list_finds_an_order_by_number_or_email(staff, three_orders):
    number = f"BS-{three_orders['old']:07d}"

    assert _listed(staff, f"q={number}") == [three_orders["old"]]
    assert _listed(staff, "q=bob@") == [three_orders["paid"]]


def test_the_list_finds_a_customers_orders_by_their_name_or_member_number(app, staff,
                                                                        three_orders):
    with app.app_context():
        ada = db.session.scalar(sa.select(Member).where(Member.email == "ada@example.test"))
        ada.name = "Ada Lovelace"
        db.session.commit()
        member_no = ada.member_no

    assert _listed(staff, "q=Lovelace") == [three_orders["new"], three_orders["old"]]
    assert _listed(staff, f"q={member_no}") == [three_orders["new"], three_orders["old"]]
    assert _listed(staff, "q=nobody-here") == []


def test_an_order_search_reads_indexes_not_every_order(app, staff, three_orders):
    from tests.helpers import plans_of

    plans = plans_of(app, lambda: staff.get("/admin/orders?q=bob%40example"))
    searched = [p for p in plans if "orders" in p.lower()]

    assert any("ix_orders_email" in p for p in searched), searched
    assert not any(line.strip().startswith("SCAN orders") for p in searched
                   for line in p.splitlines()), searched


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2024-02-30", "Not a valid date value."),
        ("date_from=yesterday", "Not a valid date value."),
        ("date_from=0001-01-01", "Choose a date between"),
        ("date_to=9999-12-31", "Choose a date between"),
        ("date_from=2024-05-01&date_to=2024-04-01", "The end date is before the start date."),
        ("status=lost", "Not a valid choice."),
    ],
)
def test_bad_filters_give_a_message_not_an_error(staff, three_orders, query, message):
    response = staff.get(f"/admin/orders?{query}")

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


# --------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_status_change_without_a_csrf_token_is_refused(app, staff, order_id):
    response = staff.post(f"/admin/orders/{order_id}/status", data={"status": "paid"})

    assert response.status_code == 400
    assert _order(app, order_id)[0] is OrderStatus.PLACED


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_status_change_with_its_csrf_token_works(app, staff, order_id):
    token = _csrf_token(staff, f"/admin/orders/{order_id}")

    response = staff.post(f"/admin/orders/{order_id}/status",
                          data={"status": "paid", "csrf_token": token})

    assert response.status_code == 302
    assert _order(app, order_id)[0] is OrderStatus.PAID



# --------------------------------------------------------------------------- issue 4


def test_the_order_page_names_the_members_grade_not_its_code(app, staff, order_id):
    with app.app_context():
        order = db.session.get(Order, order_id)
        order.member.tier_code = "silver"
        order.tier_code = "silver"
        order.discount_total = Decimal("1.65")
        db.session.commit()

    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)

    assert re.search(r'data-testid="member-tier">Silver<', page)
    assert "Member discount (Silver)" in page


def test_cancelling_a_paid_order_returns_stock_and_regrades_the_member(app, staff):
    with app.app_context():
        from app.models import Member

        book = make_book(title="Atlas", price=Decimal("600.00"), stock_on_hand=3)
        rita = make_member(email="rita@example.test")
        order = make_placed_order(rita, [(book, 1)])
        db.session.commit()
        order_id, rita_id = order.id, rita.id
    staff.post(f"/admin/orders/{order_id}/status", data={"status": "paid"})
    with app.app_context():
        assert db.session.get(Member, rita_id).tier_code == "silver"  # 610.00 paid

    response = staff.post(f"/admin/orders/{order_id}/status", data={"status": "cancelled"})

    assert response.status_code == 302
    assert _stock(app)["Atlas"] == 3
    with app.app_context():
        member = db.session.get(Member, rita_id)
        assert (member.tier_code, member.qualifying_spend) == ("regular", Decimal("0.00"))


def test_a_status_change_is_written_to_the_audit_log(app, staff, staff_id, order_id):
    staff.post(f"/admin/orders/{order_id}/status", data={"status": "paid", "note": "Wired"})

    with app.app_context():
        from app.models import AuditEntry

        entry = db.session.scalars(sa.select(AuditEntry)).one()
        assert (entry.actor_id, entry.actor_label, entry.action) == (
            staff_id, "clerk@example.test", "order.status")
        assert (entry.target_type, entry.target_id) == ("orders", order_id)
        assert (entry.before, entry.after) == ({"status": "placed"}, {"status": "paid"})
        assert "Wired" in entry.summary


def _csv(response) -> list[list[str]]:
    import csv
    import io

    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_csv_export_has_every_order_the_filters_select(exporter, three_orders):
    rows = _csv(exporter.get("/admin/orders.csv?date_from=2024-03-01"))

    assert rows[0][:4] == ["order", "placed_at", "status", "email"]
    assert [r[0] for r in rows[1:]] == [f"BS-{three_orders['new']:07d}",
                                       f"BS-{three_orders['paid']:07d}"]
    assert rows[2][2:4] == ["paid", "bob@example.test"]
    assert rows[2][rows[0].index("tier")] == "Regular"


def test_the_csv_export_neutralises_formulas_typed_by_customers(app, exporter):
    with app.app_context():
        member = make_member(email="eve@example.test", name="=HYPERLINK(1)")
        make_placed_order(member, ship_name="=HYPERLINK(1)", ship_city="@SUM(A1)")
        db.session.commit()

    rows = _csv(exporter.get("/admin/orders.csv"))

    assert rows[1][rows[0].index("customer")] == "'=HYPERLINK(1)"
    assert rows[1][rows[0].index("ship_city")] == "'@SUM(A1)"


def test_the_list_links_to_the_export_with_the_same_filters(exporter, three_orders):
    page = exporter.get("/admin/orders?status=paid&q=bob").get_data(as_text=True)

    assert 'href="/admin/orders.csv?q=bob&amp;status=paid"' in page


def test_bad_export_filters_are_a_400(exporter):
    assert exporter.get("/admin/orders.csv?date_from=nope").status_code == 400


def test_the_list_and_the_order_page_run_a_fixed_number_of_queries(app, staff, order_id):
    from tests.helpers import counting_statements

    staff.post(f"/admin/orders/{order_id}/status", data={"status": "paid"})
    staff.get("/admin/orders")
    with counting_statements(app) as few:
        staff.get("/admin/orders")
        staff.get(f"/admin/orders/{order_id}")
    with app.app_context():
        for n in range(6):
            book = make_book(title=f"Book {n}", stock_on_hand=5)
            make_placed_order(make_member(), [(book, 1), (make_book(), 2)])
        db.session.commit()
    staff.post(f"/admin/orders/{order_id}/status", data={"status": "shipped"})
    with counting_statements(app) as many:
        staff.get("/admin/orders")
        staff.get(f"/admin/orders/{order_id}")

    assert len(many) == len(few)
