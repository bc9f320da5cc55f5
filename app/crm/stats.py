"""The admin dashboard's figures, aggregated in SQL (read-only; money stays Decimal).

Definitions (also shown on the page):
- Periods end now. "Today" starts at midnight UTC, "7 days" at midnight six days ago, "30 days"
  at midnight 29 days ago. Each is compared with the same span shifted back by its own length
  (equal length, like for like): today so far against yesterday until the same time, the last
  7 days against the 7 days before them until the same time of day.
- Revenue: the totals of orders placed in the period that are paid, shipped or delivered
  (placed-but-unpaid and cancelled orders leave it out), minus what was refunded on them
  (`Order.revenue`). Orders: every order placed.
  Average order value: revenue / the number of those paid (or later) orders.
- New members: customer accounts (`Member.is_customer`) created in the period. Active
  members: customers who placed at least one order in the period (logins are not kept as
  history, so they cannot be compared between periods). Members per tier: customers only.
- Top sellers: copies in paid orders; revenue after discount, shared over the lines
  (`top_sellers`).
- Open demands, books waiting for stock (catalog books with an open demand), mail pending and
  failed, and members per tier are counts as of now.

Every figure comes from a few aggregate queries on indexed ranges (about 20 in all, none
per row shown). `dashboard()` caches the result for `DASHBOARD_CACHE_SECONDS`
(app.serving.caching.remember) so a busy panel does not rescan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.catalog.models import Book
from app.core.db import utcnow
from app.core.extensions import db
from app.core.money import ZERO, from_cents, round_money
from app.crm.models import Interaction, InteractionKind
from app.demand.models import Demand
from app.grades.reading import tier_counts
from app.mail.models import MailStatus, OutboxMail
from app.membership.models import Member
from app.ordering.models import Order, OrderChannel, OrderLine, OrderStatus
from app.serving import caching

# Orders that still need a member of staff to do something, in the order they move.
WAITING_STATUSES = (OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.SHIPPED)
PERIODS = (("today", 1), ("7d", 7), ("30d", 30))
SERIES_DAYS = 30
TOP_LIMIT = 10
CACHE_KEY = "admin:dashboard:v2"  # v2: the channel figures (issue 21)


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Period:
    key: str  # "today", "7d", "30d"
    days: int
    start: datetime
    end: datetime
    previous_start: datetime  # the previous period: [previous_start, previous_end),
    previous_end: datetime  # the same span `days` days earlier (today: yesterday until now)


@dataclass(frozen=True)
class Figure:
    current: Decimal | int
    previous: Decimal | int

    @property
    def change(self) -> Decimal | None:
        """The change in per cent (one decimal), None when the previous period had nothing."""
        if not self.previous:
            return None
        pct = (Decimal(self.current) - Decimal(self.previous)) * 100 / Decimal(self.previous)
        return pct.quantize(Decimal("0.1"))

    @property
    def direction(self) -> str:
        return ("up" if self.current > self.previous
                else "down" if self.current < self.previous else "same")


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    revenue: Figure
    orders: Figure
    average_order: Figure
    new_members: Figure
    active_members: Figure


@dataclass(frozen=True)
class DayFigures:
    day: date
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class RankedBook:
    book_id: int
    title: str
    count: int  # readers waiting / copies sold
    amount: Decimal | int  # copies wanted / revenue
    stock_on_hand: int


@dataclass(frozen=True)
class TierMembers:
    code: str
    name: str
    members: int
    names: tuple[tuple[str, str], ...] = ()  # the name in other languages (TierRule.names)


@dataclass(frozen=True)
class LowStockBook:
    id: int
    title: str
    authors: str
    stock_on_hand: int


@dataclass(frozen=True)
class ChannelRow:
    channel: str  # an OrderChannel value
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class StaffPhoneOrders:
    staff_id: int | None
    name: str | None  # None: an account since deleted
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class ChannelFigures:
    """The last `days` days by selling channel: orders and revenue (Order's one definition),
    calls logged, and phone orders by the staff member who took them."""

    days: int
    channels: list[ChannelRow]
    calls: int
    by_staff: list[StaffPhoneOrders]


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    periods: list[PeriodFigures]
    series: list[DayFigures]
    tiers: list[TierMembers]
    top_demanded: list[RankedBook]
    top_sellers: list[RankedBook]
    open_demands: int
    books_waiting: int
    waiting: dict[OrderStatus, int]
    low_stock: list[LowStockBook]
    low_stock_count: int
    out_of_stock_count: int
    low_stock_threshold: int
    mail_pending: int
    mail_failed: int
    channels: ChannelFigures | None = None

    @property
    def today(self) -> PeriodFigures:
        return self.periods[0]


# --------------------------------------------------------------------------- periods


def start_of_day(moment: datetime) -> datetime:
    """Midnight (UTC, the shop's reporting day) of the day `moment` falls in."""
    return datetime.combine(moment.date(), time.min, tzinfo=moment.tzinfo)


def periods(now: datetime) -> list[Period]:
    today = start_of_day(now)
    result = []
    for key, days in PERIODS:
        start = today - timedelta(days=days - 1)
        shift = timedelta(days=days)
        result.append(Period(key=key, days=days, start=start, end=now,
                             previous_start=start - shift, previous_end=now - shift))
    return result


def _money(value: object) -> Decimal:
    """A SUM over a Money column comes back as Decimal, or None when no rows matched."""
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal sum, got {type(value).__name__}")
    return value


def _average(revenue: Decimal, count: int) -> Decimal:
    return round_money(revenue / count) if count else ZERO


@dataclass(frozen=True)
class _Window:
    orders: int
    revenue: Decimal
    paid_orders: int
    active_members: int
    new_members: int


def _window(lo: datetime, hi: datetime) -> _Window:
    """The order and member figures of [lo, hi): two range scans on indexed columns."""
    paid = Order.is_paid
    orders, revenue, paid_orders, active = db.session.execute(
        sa.select(sa.func.count(Order.id),
                  Order.revenue_sum(),
                  sa.func.count(sa.case((paid, Order.id))),
                  sa.func.count(sa.distinct(sa.case((Member.is_customer,
                                                     Order.member_id)))))
        .join(Member, Member.id == Order.member_id)
        .where(Order.placed_at >= lo, Order.placed_at < hi)
    ).one()
    new_members = db.session.scalar(
        sa.select(sa.func.count(Member.id))
        .where(Member.joined_at >= lo, Member.joined_at < hi, Member.is_customer)
    )
    return _Window(orders, _money(revenue), paid_orders, active, new_members)


def period_figures(now: datetime) -> list[PeriodFigures]:
    """Revenue, orders, average order, new and active members for every period and the one
    before it. One simple query per window and table, not one pass with a CASE per window
    (SQLite evaluates every CASE per row)."""
    result = []
    for p in periods(now):
        cur, prev = _window(p.start, p.end), _window(p.previous_start, p.previous_end)
        result.append(PeriodFigures(
            period=p,
            revenue=Figure(cur.revenue, prev.revenue),
            orders=Figure(cur.orders, prev.orders),
            average_order=Figure(_average(cur.revenue, cur.paid_orders),
                                 _average(prev.revenue, prev.paid_orders)),
            new_members=Figure(cur.new_members, prev.new_members),
            active_members=Figure(cur.active_members, prev.active_members),
        ))
    return result


def _day_of(value: object) -> date:
    """SQL date() gives a date on PostgreSQL and 'YYYY-MM-DD' text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily_series(now: datetime, days: int = SERIES_DAYS) -> list[DayFigures]:
    """Orders placed and revenue per day (UTC) for the last `days` days, today included: one
    GROUP BY over the stored UTC timestamps; days without orders are zero."""
    first = start_of_day(now) - timedelta(days=days - 1)
    day = sa.func.date(Order.placed_at)
    rows = db.session.execute(
        sa.select(day, sa.func.count(Order.id), Order.revenue_sum())
        .where(Order.placed_at >= first, Order.placed_at < now)
        .group_by(day)
    ).all()
    found = {_day_of(d): (count, _money(revenue)) for d, count, revenue in rows}
    result = []
    for n in range(days):
        when = (first + timedelta(days=n)).date()
        count, revenue = found.get(when, (0, ZERO))
        result.append(DayFigures(day=when, orders=count, revenue=revenue))
    return result


# --------------------------------------------------------------------------- rankings


def top_demanded(limit: int = TOP_LIMIT) -> list[RankedBook]:
    """Catalog books with the most readers waiting (Demand.is_waiting), then the most copies."""
    readers = sa.func.count(Demand.id)
    copies = sa.func.sum(Demand.quantity)
    rows = db.session.execute(
        sa.select(Book.id, Book.title, Book.stock_on_hand, readers, copies)
        .join(Book, Book.id == Demand.book_id)
        .where(Demand.is_waiting)
        .group_by(Book.id, Book.title, Book.stock_on_hand)
        .order_by(readers.desc(), copies.desc(), Book.id)
        .limit(limit)
    ).all()
    return [RankedBook(book_id=r[0], title=r[1], stock_on_hand=r[2], count=r[3],
                       amount=int(r[4] or 0)) for r in rows]


def top_sellers(now: datetime, days: int = SERIES_DAYS,
                limit: int = TOP_LIMIT) -> list[RankedBook]:
    """The books that sold the most copies in paid orders (`Order.is_paid`) placed in the
    last `days` days, with the revenue they brought in: each line's list total minus its share
    of the order's discount (`app.ordering.pricing.allocate_discount`: in proportion to the
    lines' list totals, whole cents, largest remainder first, ties to the earlier line). Over
    every book, these revenues plus the orders' shipping fees add up to the dashboard's
    revenue for the same orders before refunds (refunds are not shared out over books: a
    top seller is what sold). One query: window functions share the discount out per
    order."""
    since = start_of_day(now) - timedelta(days=days - 1)
    line_cents = sa.type_coerce(OrderLine.line_total, sa.BigInteger)
    discount = sa.type_coerce(Order.discount_total, sa.BigInteger)
    goods = sa.func.sum(line_cents).over(partition_by=OrderLine.order_id)
    lines = (
        sa.select(OrderLine.id.label("line_id"), OrderLine.order_id.label("order_id"),
                  OrderLine.book_id.label("book_id"), OrderLine.quantity.label("quantity"),
                  line_cents.label("cents"), discount.label("discount"),
                  (line_cents * discount // sa.func.nullif(goods, 0)).label("share"),
                  (line_cents * discount % sa.func.nullif(goods, 0)).label("remainder"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.placed_at >= since, Order.placed_at < now, Order.is_paid)
        .cte("paid_lines")
    )
    share = sa.func.coalesce(lines.c.share, 0)
    place = sa.func.row_number().over(partition_by=lines.c.order_id,
                                      order_by=(sa.func.coalesce(lines.c.remainder, 0).desc(),
                                                lines.c.line_id))
    left_over = lines.c.discount - sa.func.sum(share).over(partition_by=lines.c.order_id)
    allocated = (
        sa.select(lines.c.book_id, lines.c.quantity,
                  (lines.c.cents - share
                   - sa.case((place <= left_over, 1), else_=0)).label("net"))
        .cte("allocated")
    )
    copies = sa.func.sum(allocated.c.quantity)
    top = (
        sa.select(allocated.c.book_id.label("book_id"), copies.label("copies"),
                  sa.func.sum(allocated.c.net).label("cents"))
        .group_by(allocated.c.book_id)
        .order_by(copies.desc(), allocated.c.book_id)
        .limit(limit)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Book.id, Book.title, Book.stock_on_hand, top.c.copies, top.c.cents)
        .join(top, top.c.book_id == Book.id)
        .order_by(top.c.copies.desc(), Book.id)
    ).all()
    return [RankedBook(book_id=r[0], title=r[1], stock_on_hand=r[2], count=int(r[3]),
                       amount=from_cents(int(r[4]))) for r in rows]


def members_per_tier() -> list[TierMembers]:
    return [TierMembers(t.code, t.name, t.members, t.names) for t in tier_counts()]


# --------------------------------------------------------------------------- counts now


def orders_waiting() -> dict[OrderStatus, int]:
    """Open orders by status (placed: to be paid; paid: to ship; shipped: to be delivered)."""
    counts = dict(
        db.session.execute(
            sa.select(Order.status, sa.func.count(Order.id))
            .where(Order.status.in_(WAITING_STATUSES))
            .group_by(Order.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in WAITING_STATUSES}


def demand_counts() -> tuple[int, int]:
    """(readers waiting, catalog books waiting for stock: those with at least one reader
    waiting), by Demand.is_waiting."""
    open_count, books = db.session.execute(
        sa.select(sa.func.count(Demand.id), sa.func.count(sa.distinct(Demand.book_id)))
        .where(Demand.is_waiting)
    ).one()
    return open_count, books


def low_stock_books(threshold: int, limit: int = 10) -> tuple[list[LowStockBook], int, int]:
    """(the books for sale closest to running out, how many are low, how many are out).

    One scan of the books: the counts ride along as window aggregates over the matching rows
    (the book table has no index on stock, so a second query would scan it again)."""
    low = sa.and_(Book.is_active.is_(True), Book.stock_on_hand <= threshold)
    low_count = sa.func.count(Book.id).over()
    out_count = sa.func.count(sa.case((Book.stock_on_hand == 0, Book.id))).over()
    rows = db.session.execute(
        sa.select(Book.id, Book.title, Book.authors, Book.stock_on_hand, low_count, out_count)
        .where(low).order_by(Book.stock_on_hand, Book.sold_count.desc(), Book.id).limit(limit)
    ).all()
    books = [LowStockBook(id=r[0], title=r[1], authors=r[2], stock_on_hand=r[3]) for r in rows]
    if not rows:
        return [], 0, 0
    return books, rows[0][4], rows[0][5]


def mail_counts() -> dict[MailStatus, int]:
    counts = dict(
        db.session.execute(
            sa.select(OutboxMail.status, sa.func.count(OutboxMail.id)).group_by(OutboxMail.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in MailStatus}


# --------------------------------------------------------------------------- channels


def channel_figures(now: datetime, days: int = SERIES_DAYS) -> ChannelFigures:
    """Orders and revenue by channel, calls logged and phone orders per staff member over the
    last `days` days (from midnight UTC): three grouped queries on indexed ranges."""
    lo = start_of_day(now) - timedelta(days=days - 1)
    placed = sa.and_(Order.placed_at >= lo, Order.placed_at < now)
    found = {channel: (orders, _money(revenue)) for channel, orders, revenue in
             db.session.execute(sa.select(Order.channel, sa.func.count(Order.id),
                                          Order.revenue_sum())
                                .where(placed).group_by(Order.channel))}
    channels = [ChannelRow(c.value, *found.get(c, (0, ZERO))) for c in OrderChannel]
    calls = db.session.scalar(
        sa.select(sa.func.count(Interaction.id))
        .where(Interaction.kind == InteractionKind.PHONE, Interaction.created_at >= lo,
               Interaction.created_at < now)) or 0
    staff = aliased(Member)
    by_staff = [StaffPhoneOrders(staff_id, name, orders, _money(revenue))
                for staff_id, name, orders, revenue in db.session.execute(
                    sa.select(Order.placed_by_id, staff.name, sa.func.count(Order.id),
                              Order.revenue_sum())
                    .outerjoin(staff, staff.id == Order.placed_by_id)
                    .where(placed, Order.channel == OrderChannel.PHONE)
                    .group_by(Order.placed_by_id, staff.name)
                    .order_by(sa.func.count(Order.id).desc(), staff.name))]
    return ChannelFigures(days, channels, calls, by_staff)


# --------------------------------------------------------------------------- everything


def compute(low_stock_threshold: int, now: datetime | None = None) -> Dashboard:
    """Everything the dashboard shows, as of `now` (default: this moment), uncached."""
    now = now or utcnow()
    books, low_count, out_count = low_stock_books(low_stock_threshold)
    mails = mail_counts()
    open_demands, books_waiting = demand_counts()
    return Dashboard(
        now=now,
        periods=period_figures(now),
        series=daily_series(now),
        tiers=members_per_tier(),
        top_demanded=top_demanded(),
        top_sellers=top_sellers(now),
        open_demands=open_demands,
        books_waiting=books_waiting,
        waiting=orders_waiting(),
        low_stock=books,
        low_stock_count=low_count,
        out_of_stock_count=out_count,
        low_stock_threshold=low_stock_threshold,
        mail_pending=mails[MailStatus.PENDING],
        mail_failed=mails[MailStatus.FAILED],
        channels=channel_figures(now),
    )


def dashboard(low_stock_threshold: int, now: datetime | None = None,
              cache_seconds: int = 0) -> Dashboard:
    """The dashboard as of `now`; with `cache_seconds` (and no `now`), the figures computed at
    most that many seconds ago (shared by every member of staff: nothing in it is personal)."""
    if now is not None or cache_seconds <= 0:
        return compute(low_stock_threshold, now)
    return caching.remember(f"{CACHE_KEY}:{low_stock_threshold}", cache_seconds,
                            lambda: compute(low_stock_threshold))


# --------------------------------------------------------------------------- CSV

CHARTS = ("figures", "sales", "tiers", "demanded", "sellers", "channels")


def chart_rows(stats: Dashboard, chart: str) -> list[tuple]:
    """The numbers behind one chart (header first), for its CSV download."""
    if chart == "figures":
        rows: list[tuple] = [("period", "period_start", "figure", "current", "previous",
                              "change_percent")]
        for f in stats.periods:
            for name in ("revenue", "orders", "average_order", "new_members",
                         "active_members"):
                fig: Figure = getattr(f, name)
                rows.append((f.period.key, f.period.start.isoformat(), name, fig.current,
                             fig.previous, "" if fig.change is None else fig.change))
        return rows
    if chart == "sales":
        return [("day", "orders", "revenue")] + [
            (d.day.isoformat(), d.orders, d.revenue) for d in stats.series]
    if chart == "tiers":
        return [("tier_code", "tier", "members")] + [
            (t.code, t.name, t.members) for t in stats.tiers]
    if chart == "demanded":
        return [("book_id", "title", "readers_waiting", "copies_wanted", "in_stock")] + [
            (b.book_id, b.title, b.count, b.amount, b.stock_on_hand) for b in stats.top_demanded]
    if chart == "sellers":
        return [("book_id", "title", "copies_sold", "revenue", "in_stock")] + [
            (b.book_id, b.title, b.count, b.amount, b.stock_on_hand) for b in stats.top_sellers]
    if chart == "channels" and stats.channels is not None:
        c = stats.channels
        return ([("figure", "channel_or_staff", "orders", "revenue")]
                + [("channel", r.channel, r.orders, r.revenue) for r in c.channels]
                + [("calls_logged", "phone", c.calls, "")]
                + [("phone_orders_by", s.name or "", s.orders, s.revenue) for s in c.by_staff])
    raise KeyError(chart)
