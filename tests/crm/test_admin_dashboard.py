"""The dashboard's figures are true: counted and summed in SQL, exact to the cent, compared with
the period of equal length before; its charts are accessible SVG with their numbers as tables and
CSV; follow-ups due today are listed."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.core import charts
from app.core.extensions import db
from app.crm import stats as admin_stats
from app.models import DemandStatus, MailStatus, OrderStatus, OutboxMail
from tests.factories import (
    make_book,
    make_demand,
    make_member,
    make_placed_order,
    make_staff,
)

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
PAID = OrderStatus.PAID


def _order(total: str, placed_at: datetime, status: OrderStatus = OrderStatus.PLACED,
           member=None, book=None, quantity: int = 1):
    book = book or make_book(price=Decimal("1.00"), stock_on_hand=10)
    return make_placed_order(member, lines=[(book, quantity)], total=Decimal(total),
                             placed_at=placed_at, status=status)


def _mail(status: MailStatus) -> None:
    db.session.add(OutboxMail(kind="test", to_email="a@example.test", subject="s",
                              body_text="b", message_id=f"<{status}@t>", status=status))


def _at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- periods


def test_the_periods_end_now_and_each_is_compared_with_one_of_equal_length(ctx):
    today, week, month = admin_stats.periods(NOW)

    assert (today.start, today.end) == (_at(10, 0), NOW)
    assert (today.previous_start, today.previous_end) == (_at(9, 0), _at(9, 15))
    assert (week.start, week.previous_start, week.previous_end) == (_at(4, 0), _at(25, 0, 2),
                                                                    _at(3, 15))
    assert month.start == datetime(2026, 2, 9, tzinfo=UTC)
    for p in (today, week, month):
        assert p.end - p.start == p.previous_end - p.previous_start
        assert p.previous_end <= p.start


def test_revenue_counts_paid_shipped_and_delivered_orders_exactly(ctx):
    _order("0.10", _at(10, 0), PAID)  # midnight: today
    _order("0.20", _at(10, 14), OrderStatus.SHIPPED)
    _order("0.40", _at(10, 9), OrderStatus.DELIVERED)
    _order("99.99", _at(10, 9), OrderStatus.CANCELLED)  # not revenue, but an order placed
    _order("55.55", _at(10, 9))  # placed, not paid: not revenue
    _order("1000.00", _at(10, 16), PAID)  # after "now": not counted

    today = admin_stats.dashboard(3, now=NOW).today

    assert today.revenue.current == Decimal("0.70")
    assert isinstance(today.revenue.current, Decimal)
    assert today.orders.current == 5
    assert today.average_order.current == Decimal("0.23")  # 0.70 / 3, half-up to the cent


def test_today_is_compared_with_yesterday_up_to_the_same_time(ctx):
    _order("10.00", _at(10, 9), PAID)
    _order("20.00", _at(10, 10), PAID)
    _order("5.00", _at(9, 8), PAID)  # yesterday before 15:00: compared
    _order("500.00", _at(9, 16), PAID)  # yesterday after 15:00: not in the comparison

    today = admin_stats.dashboard(3, now=NOW).today

    assert (today.revenue.current, today.revenue.previous) == (Decimal("30.00"),
                                                               Decimal("5.00"))
    assert (today.orders.current, today.orders.previous) == (2, 1)
    assert today.revenue.change == Decimal("500.0")
    assert today.revenue.direction == "up"


def test_the_seven_and_thirty_day_periods_include_their_first_day(ctx):
    _order("7.00", _at(4, 0), PAID)  # 6 days before today at midnight: in the week
    _order("3.00", _at(3, 14), PAID)  # a week before today, before 15:00: previous week
    _order("30.00", _at(3, 16), PAID)  # after 15:00 that day: in neither
    _order("1.00", datetime(2026, 2, 9, 0, 0, tzinfo=UTC), PAID)  # first day of 30

    _, week, month = admin_stats.dashboard(3, now=NOW).periods

    assert (week.revenue.current, week.revenue.previous) == (Decimal("7.00"), Decimal("3.00"))
    assert month.revenue.current == Decimal("41.00")


def test_a_change_from_nothing_has_no_percentage(ctx):
    today = admin_stats.dashboard(3, now=NOW).today

    assert (today.orders.current, today.revenue.current) == (0, Decimal("0.00"))
    assert today.revenue.change is None
    assert today.average_order.current == Decimal("0.00")


def test_new_and_active_members_are_counted_per_period(ctx):
    ada = make_member(joined_at=_at(10, 8))
    bob = make_member(joined_at=_at(9, 8))
    make_staff(joined_at=_at(10, 9))  # staff are not new members
    _order("1.00", _at(10, 9), member=ada)
    _order("1.00", _at(10, 10), member=ada)  # twice: still one active member
    _order("1.00", _at(9, 9), member=bob)

    today = admin_stats.dashboard(3, now=NOW).today

    assert (today.new_members.current, today.new_members.previous) == (1, 1)
    assert (today.active_members.current, today.active_members.previous) == (1, 1)


def test_staff_and_erased_accounts_are_not_new_or_active_customers(ctx):
    ada = make_member(joined_at=_at(10, 8))
    clerk = make_staff(joined_at=_at(1, 8))
    gone = make_member(joined_at=_at(10, 8), erased_at=_at(10, 11), is_active_account=False)
    for member in (ada, clerk, gone):
        _order("1.00", _at(10, 9), member=member)

    today = admin_stats.dashboard(3, now=NOW).today

    assert today.new_members.current == 1
    assert today.active_members.current == 1
    assert today.orders.current == 3   # every order placed still counts as an order


def test_open_demands_and_books_waiting_for_stock_are_counted(ctx):
    dune = make_book(stock_on_hand=0)
    make_demand(book=dune)
    make_demand(book=dune)
    make_demand(book=make_book(stock_on_hand=0))
    make_demand(book=make_book(stock_on_hand=0), status=DemandStatus.FULFILLED)

    stats = admin_stats.dashboard(3, now=NOW)

    assert (stats.open_demands, stats.books_waiting) == (3, 2)
    assert [(b.book_id, b.count) for b in stats.top_demanded][0] == (dune.id, 2)


def test_top_sellers_rank_copies_sold_in_paid_orders_of_the_last_30_days(ctx):
    emma = make_book(title="Emma", price=Decimal("8.00"), stock_on_hand=20)
    dune = make_book(title="Dune", price=Decimal("9.00"), stock_on_hand=20)
    _order("1", _at(10, 9), book=emma, quantity=2, status=PAID)
    _order("1", _at(9, 9), book=dune, quantity=3, status=OrderStatus.DELIVERED)
    _order("1", _at(9, 9), book=emma, quantity=5, status=OrderStatus.CANCELLED)
    _order("1", _at(9, 9), book=emma, quantity=4)  # placed, not paid: not sold yet
    _order("1", datetime(2026, 1, 1, tzinfo=UTC), book=emma, quantity=9, status=PAID)  # old

    sellers = admin_stats.dashboard(3, now=NOW).top_sellers

    assert [(b.title, b.count, b.amount) for b in sellers] == [
        ("Dune", 3, Decimal("27.00")), ("Emma", 2, Decimal("16.00"))]


def _discounted(lines, discount: str, shipping: str = "10.00", placed_at=None, status=PAID):
    """A paid order of `lines` [(book, quantity)] with the member discount `discount`."""
    subtotal = sum((b.price * q for b, q in lines), Decimal("0.00"))
    total = subtotal - Decimal(discount) + Decimal(shipping)
    return make_placed_order(None, lines=lines, subtotal=subtotal,
                             discount_total=Decimal(discount), shipping_fee=Decimal(shipping),
                             total=total, placed_at=placed_at or _at(10, 9), status=status)


def test_top_sellers_revenue_is_after_discount_shared_by_line_in_exact_cents(ctx):
    emma = make_book(title="Emma", price=Decimal("10.00"), stock_on_hand=20)
    dune = make_book(title="Dune", price=Decimal("10.00"), stock_on_hand=20)
    iliad = make_book(title="Iliad", price=Decimal("10.00"), stock_on_hand=20)
    # 1.00 off 30.00: a third of a cent each is 0.3333..; 33 + 33 + 33 cents, and the cent
    # left over goes to the earliest of the equal remainders (Emma's line).
    _discounted([(emma, 1), (dune, 1), (iliad, 1)], "1.00")
    # 0.05 off 30.00 (20.00 + 10.00): shares 3.33 and 1.67 cents -> 3 + 2 (largest remainder)
    _discounted([(emma, 2), (dune, 1)], "0.05")

    sellers = {b.title: (b.count, b.amount) for b in admin_stats.top_sellers(NOW)}

    assert sellers == {"Emma": (3, Decimal("9.66") + Decimal("19.97")),
                       "Dune": (2, Decimal("9.67") + Decimal("9.98")),
                       "Iliad": (1, Decimal("9.67"))}


def test_top_sellers_revenue_plus_shipping_reconciles_with_the_dashboard_revenue(ctx):
    books = [make_book(price=Decimal(p), stock_on_hand=50)
             for p in ("7.99", "12.35", "3.33", "48.10", "0.99")]
    orders = [
        _discounted([(books[0], 3), (books[1], 1), (books[2], 7)], "4.47"),
        _discounted([(books[3], 1), (books[4], 2)], "2.51", shipping="0.00"),
        _discounted([(books[1], 2), (books[2], 1), (books[3], 2), (books[4], 1)], "17.77"),
        _discounted([(books[0], 1)], "0.00"),
    ]
    _discounted([(books[0], 5)], "1.00", status=OrderStatus.PLACED)  # unpaid: in neither

    sellers = admin_stats.top_sellers(NOW, days=1, limit=100)
    revenue = admin_stats.dashboard(3, now=NOW).today.revenue.current

    shipping = sum((o.shipping_fee for o in orders), Decimal("0.00"))
    assert sum(b.amount for b in sellers) + shipping == revenue
    assert revenue == sum((o.total for o in orders), Decimal("0.00"))


def test_the_daily_series_covers_30_days_with_zeros_for_quiet_days(ctx):
    _order("2.50", _at(10, 1), PAID)
    _order("4.00", _at(10, 2))
    _order("1.00", datetime(2026, 2, 9, 0, 0, tzinfo=UTC), PAID)

    series = admin_stats.dashboard(3, now=NOW).series

    assert len(series) == 30
    assert (series[0].day, series[0].orders, series[0].revenue) == (date(2026, 2, 9), 1,
                                                                    Decimal("1.00"))
    assert (series[-1].day, series[-1].orders, series[-1].revenue) == (date(2026, 3, 10), 2,
                                                                      Decimal("2.50"))
    assert sum(d.orders for d in series[1:-1]) == 0


def test_orders_waiting_are_counted_by_status(ctx):
    for status in (OrderStatus.PLACED, OrderStatus.PLACED, OrderStatus.PAID,
                   OrderStatus.DELIVERED, OrderStatus.CANCELLED):
        _order("1.00", NOW, status)

    waiting = admin_stats.orders_waiting()

    assert waiting == {OrderStatus.PLACED: 2, OrderStatus.PAID: 1, OrderStatus.SHIPPED: 0}


def test_low_stock_lists_books_for_sale_at_or_below_the_threshold(ctx):
    make_book(title="Plenty", stock_on_hand=4)
    make_book(title="Three left", stock_on_hand=3)
    make_book(title="Gone", stock_on_hand=0)
    make_book(title="Withdrawn", stock_on_hand=0, is_active=False)

    books, low, out = admin_stats.low_stock_books(3)

    assert [b.title for b in books] == ["Gone", "Three left"]
    assert (low, out) == (2, 1)


def test_pending_and_failed_mail_are_counted(ctx):
    for status in (MailStatus.PENDING, MailStatus.FAILED, MailStatus.SENT):
        _mail(status)

    stats = admin_stats.dashboard(3, now=NOW)

    assert (stats.mail_pending, stats.mail_failed) == (1, 1)


def test_the_cached_dashboard_is_reused_until_it_expires(app):
    with app.app_context():
        first = admin_stats.dashboard(3, cache_seconds=60)
        _order("5.00", datetime.now(UTC) - timedelta(minutes=1), PAID)
        db.session.commit()

        cached = admin_stats.dashboard(3, cache_seconds=60)
        fresh = admin_stats.dashboard(3)

    assert cached.now == first.now and cached.today.orders.current == 0
    assert fresh.today.orders.current == 1


# --------------------------------------------------------------------------- charts


def test_a_bar_chart_is_an_accessible_image_with_a_tooltip_per_bar():
    svg = str(charts.bar_chart("c1", "Top <sellers>", [("Dune & co", 3), ("Emma", 2)],
                               value_label="Copies", category_label="Book",
                               description="See the table."))

    # in a box a keyboard can scroll when the chart is wider than the screen (issue 22)
    assert svg.startswith('<div class="chart-scroll" role="region" tabindex="0"')
    assert "<svg" in svg and 'role="img"' in svg
    assert 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Top &lt;sellers&gt;</title>' in svg
    assert "<title>Dune &amp; co: 3</title>" in svg and "<title>Emma: 2</title>" in svg
    assert ">Copies</text>" in svg and ">Book</text>" in svg
    assert svg.count("<rect") == 2


def test_a_column_chart_draws_zero_days_and_scales_to_the_largest():
    svg = str(charts.column_chart("c2", "Orders", [("01", 0), ("02", 7), ("03", 3)],
                                  value_label="Orders", category_label="Day",
                                  description="d"))

    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] == 0 and heights[1] > heights[2] > 0


def test_an_empty_chart_says_so():
    svg = str(charts.bar_chart("c3", "Demand", [], value_label="v", category_label="c",
                               description="d", empty_text="No open demands."))

    assert "No open demands." in svg and "<rect" not in svg


@pytest.mark.parametrize(("maximum", "ticks"), [(0, [0, 1]), (7, [0, 2, 4, 6, 8]),
                                                (1000, [0, 250, 500, 750, 1000])])
def test_ticks_are_round_numbers_covering_the_largest_value(maximum, ticks):
    assert charts.nice_ticks(maximum) == ticks


# --------------------------------------------------------------------------- the page


def test_the_dashboard_page_shows_the_figures_charts_and_tables(app, staff):
    with app.app_context():
        book = make_book(title="Dune <Special>", price=Decimal("12.50"), stock_on_hand=3)
        make_placed_order(make_member(), [(book, 1)], status=PAID)
        _mail(MailStatus.FAILED)
        db.session.commit()

    page = staff.get("/admin/").get_data(as_text=True)

    assert re.search(r'data-testid="revenue-today">\s*<strong>[^<]*22\.50', page)
    assert 'data-testid="waiting-paid">1<' in page
    assert 'data-testid="low-stock-count">1<' in page
    assert "1 failed" in page
    assert page.count('role="img"') == 5
    assert "Dune &lt;Special&gt;" in page and "Dune <Special>" not in page
    assert 'data-testid="table-sellers"' in page and 'data-testid="table-tiers"' in page
    assert "Active members: customers who placed at least one order" in page


@pytest.mark.parametrize("chart", admin_stats.CHARTS)
def test_every_chart_has_its_numbers_as_csv(app, staff, chart):
    with app.app_context():
        make_placed_order(make_member(), status=PAID)
        make_demand()
        db.session.commit()

    response = staff.get(f"/admin/dashboard/{chart}.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) >= 2


def test_the_sales_csv_matches_the_series(app, staff):
    with app.app_context():
        make_placed_order(make_member(), status=PAID, total=Decimal("12.34"))
        db.session.commit()

    rows = list(csv.reader(io.StringIO(
        staff.get("/admin/dashboard/sales.csv").get_data(as_text=True).lstrip("\ufeff"))))

    assert rows[0] == ["day", "orders", "revenue"]
    assert len(rows) == 31 and rows[-1][1:] == ["1", "12.34"]


def test_an_unknown_chart_is_not_found(staff):
    assert staff.get("/admin/dashboard/secrets.csv").status_code == 404


def test_follow_ups_due_today_are_on_the_dashboard(app, staff):
    from app.crm import interactions

    with app.app_context():
        from app.models import Member

        clerk = db.session.scalar(db.select(Member).where(Member.email == "clerk@example.test"))
        rita = make_member(name="Rita Reader")
        today = datetime.now(UTC).date()
        interactions.add_interaction(rita, clerk, "phone", "Call back about the atlas", today)
        interactions.add_interaction(rita, clerk, "phone", "Next week", today + timedelta(7))
        db.session.commit()

    page = staff.get("/admin/").get_data(as_text=True)

    assert page.count('data-testid="follow-up"') == 1
    assert "Call back about the atlas" in page and "Rita Reader" in page


def test_the_dashboard_runs_a_fixed_number_of_queries(app, staff):
    from tests.helpers import counting_statements

    with app.app_context():
        for n in range(3):
            make_placed_order(make_member(), status=PAID)
            make_demand(book=make_book(title=f"Wanted {n}", stock_on_hand=0))
        db.session.commit()
    staff.get("/admin/")  # warm the shop's own caches (the category navigation)
    with counting_statements(app) as few:
        staff.get("/admin/")
    with app.app_context():
        for n in range(10):
            make_placed_order(make_member(), status=PAID)
            make_demand(book=make_book(title=f"More {n}", stock_on_hand=0))
        db.session.commit()
    with counting_statements(app) as many:
        staff.get("/admin/")

    assert len(many) == len(few) <= 40, set(many) ^ set(few)


@pytest.mark.pg
def test_the_figures_are_exact_on_postgresql_too(pg_app):
    with pg_app.app_context():
        _order("0.10", datetime(2026, 3, 10, 1, 0, tzinfo=UTC), PAID)
        _order("0.20", datetime(2026, 3, 10, 2, 0, tzinfo=UTC), PAID)
        _order("0.40", datetime(2026, 3, 9, 14, 59, tzinfo=UTC), PAID)
        db.session.commit()

        stats = admin_stats.dashboard(3, now=NOW)

    assert (stats.today.orders.current, stats.today.revenue.current) == (2, Decimal("0.30"))
    assert stats.today.revenue.previous == Decimal("0.40")
    assert [(d.day, d.revenue) for d in stats.series[-2:]] == [
        (date(2026, 3, 9), Decimal("0.40")), (date(2026, 3, 10), Decimal("0.30"))]
    assert stats.waiting[OrderStatus.PAID] == 3


@pytest.mark.pg
def test_top_sellers_share_the_discount_in_exact_cents_on_postgresql_too(pg_app):
    with pg_app.app_context():
        emma = make_book(title="Emma", price=Decimal("10.00"), stock_on_hand=20)
        dune = make_book(title="Dune", price=Decimal("10.00"), stock_on_hand=20)
        _discounted([(emma, 2), (dune, 1)], "0.05")
        _discounted([(emma, 1), (dune, 1)], "0.01")
        db.session.commit()

        sellers = {b.title: (b.count, b.amount) for b in admin_stats.top_sellers(NOW)}

    # 0.05 off 20.00 + 10.00 -> 3 and 2 cents; 0.01 off 10.00 + 10.00 -> the earlier line
    assert sellers == {"Emma": (3, Decimal("19.97") + Decimal("9.99")),
                       "Dune": (2, Decimal("9.98") + Decimal("10.00"))}


def test_one_book_waiting_for_stock_is_said_in_the_singular(app, staff):
    with app.app_context():
        make_demand()
        db.session.commit()

    page = staff.get("/admin/").get_data(as_text=True)

    assert "1 book waiting for stock" in page and "1 books" not in page
