"""Return pages: the member asks from their order page; staff list, read and move returns,
open one from the admin order page, refund, and download the report; only staff get in."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from app.core.extensions import db
from app.models import AuditEntry, Order, OutboxMail, ReturnRequest, ReturnStatus
from app.returns import requests
from app.returns.refunds import refund_order
from tests.factories import make_member, make_staff
from tests.pages import log_in
from tests.returns.support import paid_order


def _order(app, *, days_since_delivery: int = 1) -> tuple[int, list[int], str]:
    with app.app_context():
        member = make_member(email="returner@example.test", name="Rita Returner")
        order = paid_order(member)
        order.delivered_at = order.delivered_at - timedelta(days=days_since_delivery)
        db.session.commit()
        return order.id, [line.id for line in order.lines], member.email


def test_the_member_returns_a_book_from_the_order_page(app, client):
    order_id, (twenty, thirty), email = _order(app)
    log_in(client, email)

    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="return-items"' in page and "Return items" in page
    form = client.get(f"/orders/{order_id}/return").get_data(as_text=True)
    assert f'name="qty_{twenty}"' in form and "The book arrived damaged" in form

    response = client.post(f"/orders/{order_id}/return", data={
        f"qty_{twenty}": "1", f"qty_{thirty}": "", "reason": "damaged",
        "details": "Torn cover"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "we have your return request R-" in page
    assert 'data-testid="return-status">Return requested<' in page
    with app.app_context():
        made = db.session.scalar(sa.select(ReturnRequest))
        assert (made.quantity, made.details, made.opened_by_staff) == (1, "Torn cover", False)


def test_a_form_with_mistakes_comes_back_with_what_was_typed(app, client):
    order_id, (twenty, _thirty), email = _order(app)
    log_in(client, email)
    response = client.post(f"/orders/{order_id}/return", data={
        f"qty_{twenty}": "abc", "reason": "", "details": "Keep this text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter a whole number of copies." in page
    assert "Please choose a reason from the list." in page
    assert "Keep this text" in page
    response = client.post(f"/orders/{order_id}/return", data={
        f"qty_{twenty}": "9", "reason": "other"})
    assert response.status_code == 400 and "at most 2" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReturnRequest.id))) == 0


def test_after_the_window_the_page_says_it_closed_and_a_post_is_refused(app, client):
    order_id, (twenty, _thirty), email = _order(app, days_since_delivery=31)
    log_in(client, email)
    assert 'data-testid="return-items"' not in client.get(f"/orders/{order_id}").get_data(
        as_text=True)
    page = client.get(f"/orders/{order_id}/return").get_data(as_text=True)
    assert "The return window of this order closed on" in page
    response = client.post(f"/orders/{order_id}/return", data={
        f"qty_{twenty}": "1", "reason": "damaged"})
    assert response.status_code == 400
    assert "closed on" in response.get_data(as_text=True)


def test_another_members_order_is_not_found(app, client):
    order_id, _lines, _email = _order(app)
    with app.app_context():
        make_member(email="other@example.test")
        db.session.commit()
    log_in(client, "other@example.test")
    assert client.get(f"/orders/{order_id}/return").status_code == 404


def test_members_cannot_reach_the_admin_return_pages(app, client):
    order_id, _lines, email = _order(app)
    log_in(client, email)
    for path in ("/admin/returns", "/admin/returns/report", "/admin/returns/report.csv",
                 f"/admin/orders/{order_id}/returns/new"):
        assert client.get(path).status_code in (302, 403), path


# --------------------------------------------------------------------------- staff


def _requested(app, order_id: int) -> int:
    with app.app_context():
        order = db.session.get(Order, order_id)
        made = requests.request_return(order, order.member,
                                       {line.id: line.quantity for line in order.lines},
                                       "damaged", "Water damage")
        db.session.commit()
        return made.id


def _received(app, return_id: int) -> None:
    """Approved, and every copy asked back received (resaleable)."""
    with app.app_context():
        made = db.session.get(ReturnRequest, return_id)
        staff = make_staff()
        requests.approve(made, staff)
        requests.receive(made, staff, {line.id: (line.quantity, "resaleable")
                                       for line in made.lines})
        db.session.commit()


def test_staff_walk_a_return_from_the_list_to_the_refund(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)

    listing = staff.get("/admin/returns?status=requested").get_data(as_text=True)
    assert f"R-{return_id:07d}" in listing and "Rita Returner" in listing
    assert 'data-testid="no-returns"' in staff.get("/admin/returns?status=refunded").get_data(
        as_text=True)
    detail = staff.get(f"/admin/returns/{return_id}").get_data(as_text=True)
    assert "Water damage" in detail

    assert staff.post(f"/admin/returns/{return_id}/approve").status_code == 302
    with app.app_context():
        lines = [line.id for line in db.session.get(ReturnRequest, return_id).lines]
    response = staff.post(f"/admin/returns/{return_id}/receive", data={
        f"got_{lines[0]}": "2", f"restock_{lines[0]}": "resaleable",
        f"got_{lines[1]}": "1", f"restock_{lines[1]}": "damaged"})
    assert response.status_code == 302
    detail = staff.get(f"/admin/returns/{return_id}").get_data(as_text=True)
    assert "2 copies back in stock" in detail
    assert 'value="70.00"' in detail  # the books' value is offered

    response = staff.post(f"/admin/returns/{return_id}/refund", data={
        "lines": "70.00", "shipping": "10.00", "goodwill": "", "note": "by transfer"})
    assert response.status_code == 302
    with app.app_context():
        made = db.session.get(ReturnRequest, return_id)
        assert made.status is ReturnStatus.REFUNDED
        assert made.order.refunded == D("80.00")
        actions = set(db.session.scalars(sa.select(AuditEntry.action)))
        assert {"return.approve", "return.receive", "order.refund", "return.refund"} <= actions


def test_a_refund_over_what_is_left_is_refused_on_the_page_keeping_the_amounts(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    _received(app, return_id)
    response = staff.post(f"/admin/returns/{return_id}/refund", data={
        "lines": "75.00", "shipping": "10.00", "goodwill": "0.50"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "At most" in page and 'value="0.50"' in page
    response = staff.post(f"/admin/returns/{return_id}/refund", data={"lines": "1.234"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Order, order_id).refunded_cents == 0


def test_rejecting_without_a_reason_is_refused_and_with_one_mails_it(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    assert staff.post(f"/admin/returns/{return_id}/reject", data={"reason": ""}
                      ).status_code == 400
    assert staff.post(f"/admin/returns/{return_id}/reject",
                      data={"reason": "Past the window"}).status_code == 302
    with app.app_context():
        mail = db.session.scalar(sa.select(OutboxMail).where(
            OutboxMail.kind == "return_rejected"))
        assert "Past the window" in mail.body_text


def test_staff_open_a_return_from_the_admin_order_page(app, staff, staff_id):
    order_id, (twenty, _thirty), _email = _order(app, days_since_delivery=90)
    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)
    assert f"/admin/orders/{order_id}/returns/new" in page
    response = staff.post(f"/admin/orders/{order_id}/returns/new", data={
        f"qty_{twenty}": "1", "reason": "wrong_item", "details": "Phoned in"})
    assert response.status_code == 302
    with app.app_context():
        made = db.session.scalar(sa.select(ReturnRequest))
        assert made.opened_by_staff and made.opened_by_id == staff_id


def test_the_customer_record_shows_the_returns_and_refunds_panel(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    with app.app_context():
        member_id = db.session.get(Order, order_id).member_id
    page = staff.get(f"/admin/customers/{member_id}").get_data(as_text=True)
    assert "Returns and refunds" in page and f"R-{return_id:07d}" in page


def test_the_returns_report_and_its_csv(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    _received(app, return_id)
    staff.post(f"/admin/returns/{return_id}/refund", data={"goodwill": "5.00"})
    page = staff.get("/admin/returns/report").get_data(as_text=True)
    assert 'data-testid="report-book"' in page and "Twenty" in page
    csv = staff.get("/admin/returns/report.csv").get_data(as_text=True)
    assert "by_reason,damaged,,1,3," in csv
    assert "totals,refunds_count_amount,,1,5.00," in csv
    assert "by_book" in csv and "Twenty,2,2,1.0000" in csv


def test_the_dashboard_has_a_returns_card(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    _received(app, return_id)
    staff.post(f"/admin/returns/{return_id}/refund", data={"goodwill": "5.00"})
    other = _requested(app, _order_for_another(app))
    page = staff.get("/admin/").get_data(as_text=True)
    card = page[page.index('data-testid="returns-card"'):]
    card = card[:card.index("</div>")]
    assert '1 <span class="stat-unit">open</span>' in card and other
    assert "5.00 refunded in the last 30 days" in card


def _order_for_another(app) -> int:
    with app.app_context():
        order = paid_order()
        db.session.commit()
        return order.id


def test_staff_refund_an_order_without_a_return_from_its_page(app, staff):
    order_id, _lines, email = _order(app)
    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)
    assert f"/admin/orders/{order_id}/refund" in page
    response = staff.post(f"/admin/orders/{order_id}/refund", data={"goodwill": "100.00"})
    assert response.status_code == 400
    assert "At most" in response.get_data(as_text=True)
    response = staff.post(f"/admin/orders/{order_id}/refund",
                          data={"goodwill": "7.50", "note": "late parcel"})
    assert response.status_code == 302
    page = staff.get(f"/admin/orders/{order_id}").get_data(as_text=True)
    assert "Refunded so far:" in page and 'data-testid="refund-row"' in page
    with app.app_context():
        assert db.session.get(Order, order_id).refunded == D("7.50")


def test_the_member_sees_what_was_refunded_on_the_order_page(app, client):
    order_id, _lines, email = _order(app, days_since_delivery=60)
    with app.app_context():
        refund_order(order_id, goodwill=D("4.00"), actor=make_staff())
        db.session.commit()
    log_in(client, email)
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="order-refunded"' in page and "4.00" in page
    assert 'data-testid="return-items"' not in page  # the window is closed


def test_a_refund_page_sent_twice_refunds_once(app, staff):
    order_id, _lines, _email = _order(app)
    page = staff.get(f"/admin/orders/{order_id}/refund").get_data(as_text=True)
    key = page.split('name="form_key" type="hidden" value="')[1].split('"')[0]
    for _ in range(2):
        response = staff.post(f"/admin/orders/{order_id}/refund",
                              data={"goodwill": "3.00", "form_key": key})
        assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Order, order_id).refunded == D("3.00")


def test_the_report_takes_any_dates_without_an_error(app, staff):
    for query in ("from=9999-12-31&to=9999-12-31", "from=junk&to=", "from=2026-02-30",
                  "from=2027-01-01&to=2026-01-01", "to=0001-01-01"):
        assert staff.get(f"/admin/returns/report?{query}").status_code == 200, query
        assert staff.get(f"/admin/returns/report.csv?{query}").status_code == 200, query


def test_hostile_return_forms_are_refused_without_an_error(app, client):
    order_id, (twenty, _thirty), email = _order(app)
    log_in(client, email)
    for data in ({f"qty_{twenty}": "１", "reason": "damaged"},
                 {f"qty_{twenty}": "99999999999999", "reason": "damaged"},
                 {f"qty_{twenty}": "1", "reason": "damaged\x00"},
                 {f"qty_{twenty}": "1", "reason": "damaged", "details": "x" * 5000},
                 {f"qty_{twenty}": "-1", "reason": "damaged"}):
        assert client.post(f"/orders/{order_id}/return", data=data).status_code == 400, data


def test_hostile_staff_forms_are_refused_without_an_error(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    staff.post(f"/admin/returns/{return_id}/approve")
    with app.app_context():
        line = db.session.get(ReturnRequest, return_id).lines[0].id
    for data in ({f"got_{line}": "abc", f"restock_{line}": "resaleable"},
                 {f"got_{line}": "2", f"restock_{line}": "burn"}):
        assert staff.post(f"/admin/returns/{return_id}/receive", data=data
                          ).status_code == 400, data
    for data in ({"lines": "1e309"}, {"lines": "-5"}, {"goodwill": "nan"},
                 {"lines": "1", "note": "x" * 600}, {"lines": "1", "form_key": "k" * 100}):
        assert staff.post(f"/admin/returns/{return_id}/refund", data=data
                          ).status_code == 400, data
        assert staff.post(f"/admin/orders/{order_id}/refund", data=data
                          ).status_code == 400, data
    assert staff.get("/admin/returns?status=bogus").status_code == 200
    with app.app_context():
        assert db.session.get(Order, order_id).refunded_cents == 0


def test_the_refund_form_shows_only_once_the_return_is_received(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    staff.post(f"/admin/returns/{return_id}/approve")
    page = staff.get(f"/admin/returns/{return_id}").get_data(as_text=True)
    assert 'data-testid="refund-form"' not in page
    assert 'data-testid="refund-after-receipt"' in page
    assert f"/admin/orders/{order_id}/refund" in page  # refunding without the books
    response = staff.post(f"/admin/returns/{return_id}/refund", data={"goodwill": "5.00"})
    assert response.status_code == 400
    assert "Record what came back before refunding" in response.get_data(as_text=True)
    with app.app_context():
        lines = [line.id for line in db.session.get(ReturnRequest, return_id).lines]
    staff.post(f"/admin/returns/{return_id}/receive", data={
        f"got_{lines[0]}": "2", f"restock_{lines[0]}": "resaleable",
        f"got_{lines[1]}": "1", f"restock_{lines[1]}": "damaged"})
    page = staff.get(f"/admin/returns/{return_id}").get_data(as_text=True)
    assert 'data-testid="refund-form"' in page


def test_a_return_left_with_nothing_to_refund_is_closed_from_its_page(app, staff):
    order_id, _lines, _email = _order(app)
    return_id = _requested(app, order_id)
    _received(app, return_id)
    with app.app_context():
        refund_order(order_id, lines=D("70.00"), shipping=D("10.00"), actor=make_staff())
        db.session.commit()
    page = staff.get(f"/admin/returns/{return_id}").get_data(as_text=True)
    assert 'data-testid="refund-close"' in page and 'data-testid="reject"' in page
    response = staff.post(f"/admin/returns/{return_id}/refund", data={"lines": ""})
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "closed: nothing was left to refund" in page
    with app.app_context():
        assert db.session.get(ReturnRequest, return_id).status is ReturnStatus.REFUNDED
