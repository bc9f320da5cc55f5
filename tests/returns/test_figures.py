"""Returns figures: return rate by book (returned / sold, the same days), returns by reason
(rejected ones asked, not returned), refunds over a period, in exact cents."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

from app.core.db import utcnow
from app.core.extensions import db
from app.models import Member
from app.returns import figures, requests
from app.returns.models import ReturnReason
from app.returns.refunds import refund_order
from tests.factories import make_book, make_member, make_staff
from tests.returns.support import paid_order


def test_rates_by_book_and_reason_and_refunds_over_the_period(ctx):
    staff = make_staff()
    popular = make_book(title="Popular", price=D("10.00"), stock_on_hand=50)
    quiet = make_book(title="Quiet", price=D("15.00"), stock_on_hand=50)
    first = paid_order(make_member(), lines=[(popular, 4), (quiet, 1)])
    second = paid_order(make_member(), lines=[(popular, 6)])
    kept = requests.request_return(first, first.member, {first.lines[0].id: 2}, "damaged")
    requests.request_return(second, second.member, {second.lines[0].id: 1}, "changed_mind")
    rejected = requests.request_return(first, first.member, {first.lines[1].id: 1},
                                       "changed_mind")
    requests.reject(rejected, staff, "Read and returned")
    requests.approve(kept, staff)
    requests.receive(kept, staff, {kept.lines[0].id: (2, "resaleable")})
    requests.refund_return(kept, staff, lines=D("20.00"), shipping=None, goodwill=None)
    refund_order(second, goodwill=D("0.10"), actor=staff)
    old = refund_order(second, goodwill=D("0.05"), actor=staff)
    old.created_at = utcnow() - timedelta(days=400)
    db.session.commit()

    today = utcnow().date()
    report = figures.returns_report(today - timedelta(days=30), today)

    assert report.requests == 3
    assert (report.copies_returned, report.copies_sold) == (3, 11)
    assert (report.refunds, report.refunded) == (2, D("20.10"))
    by_book = {b.title: (b.returned, b.sold, b.rate) for b in report.by_book}
    assert by_book == {"Popular": (3, 10, D("0.3"))}  # the rejected Quiet copy is not returned
    assert [(r.reason, r.requests, r.copies) for r in report.by_reason] == [
        (ReturnReason.CHANGED_MIND, 2, 2), (ReturnReason.DAMAGED, 1, 2)]

    rows = list(figures.report_rows(report))
    assert ["by_book", popular.id, "Popular", 3, 10, "0.3000"] in rows
    assert ["totals", "refunds_count_amount", "", 2, "20.10", ""] in rows


def test_an_empty_period_has_no_rates(ctx):
    today = utcnow().date()
    report = figures.returns_report(today, today)
    assert (report.requests, report.rate, report.refunded, report.by_book) == (
        0, None, D("0.00"), [])


def test_a_received_return_counts_the_copies_that_came_back_not_those_asked_for(ctx):
    staff = make_staff()
    book = make_book(title="Half back", price=D("10.00"), stock_on_hand=50)
    order = paid_order(make_member(), lines=[(book, 4)])
    made = requests.request_return(order, order.member, {order.lines[0].id: 3}, "damaged")
    requests.approve(made, staff)
    requests.receive(made, staff, {made.lines[0].id: (1, "damaged")})
    nothing = paid_order(make_member(), lines=[(make_book(title="None back"), 1)])
    empty = requests.request_return(nothing, nothing.member, {nothing.lines[0].id: 1},
                                    "changed_mind")
    requests.approve(empty, staff)
    requests.receive(empty, staff, {empty.lines[0].id: (0, "damaged")})
    db.session.commit()

    today = utcnow().date()
    report = figures.returns_report(today, today)
    assert report.copies_returned == 1
    assert {b.title: (b.returned, b.sold) for b in report.by_book} == {"Half back": (1, 4)}


def test_the_satisfaction_report_shows_the_returns_of_the_last_90_days_with_their_csv(
        app, staff_id):
    from tests.pages import log_in

    with app.app_context():
        staff = db.session.get(Member, staff_id)
        book = make_book(title="Torn", price=D("10.00"), stock_on_hand=5)
        order = paid_order(make_member(), lines=[(book, 2)])
        asked = requests.request_return(order, order.member, {order.lines[0].id: 1}, "damaged")
        requests.approve(asked, staff)
        requests.receive(asked, staff, {asked.lines[0].id: (1, "damaged")})
        requests.refund_return(asked, staff, lines=D("10.00"), shipping=None, goodwill=None)
        db.session.commit()
    client = app.test_client()
    log_in(client, "clerk@example.test")

    page = client.get("/admin/satisfaction").get_data(as_text=True)

    assert 'data-testid="returns-figures"' in page
    assert page.count('data-testid="returns-figures-reason"') == 1
    assert "10.00" in page and "Torn" in page
    csv_link = re.search(
        r'href="([^"]*/returns/report\.csv[^"]*)" data-testid="returns-figures-csv"', page).group(1)
    csv = client.get(csv_link.replace("&amp;", "&"))
    assert csv.status_code == 200 and "Torn" in csv.get_data(as_text=True)
