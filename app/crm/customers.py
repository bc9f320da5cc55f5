"""Customers: finding members fast, their order figures, and the 360° record.

Search (`search_condition`) answers from indexes only, so a page stays fast with 100,000
members:
- a name, or any part of it of 3+ characters: the trigram index of `app.catalog.search_index`
  (FTS5 `member_fts` on SQLite, `pg_trgm` on PostgreSQL); shorter text is a name prefix;
- an email (or its beginning): a range on the unique `member.email` b-tree (emails are stored
  lower-case);
- a member number (M2026-000123, or the digits after the dash): the id / `member_no` b-tree;
- a phone number, or its last 4+ digits, written any way: `member.phone_key`, the digits
  reversed, so a prefix range on it is a suffix match on the number;
- an order reference (BS-0004327): the order's customer, by the orders' primary key.
The conditions are OR-ed; each side is an index lookup.

Order figures on `Member` are denormalised for sorting and filtering the list:
`order_count` counts the orders not cancelled (placed and unpaid ones included: shown as
"Orders not cancelled"); `lifetime_spend` is the member's revenue by the one definition
(`Order.revenue_sum()`: the revenue of the paid orders);
`last_order_at` is over every order. A new order is added to them (`count_new_order`: its
revenue only if it is placed paid already, which no offline payment method does) by the
receiver of `order_placed`; `refresh_order_stats(member_id)` recomputes them from `orders`, and
the receiver of `order_status_changed` calls it when an order becomes paid or is cancelled,
and the receiver of `order_refunded` when a refund lowers an order's revenue (the CRM's
`init_app` connects all three); `refresh_all_order_stats()` rebuilds them all (the seed,
migrations).

Functions flush, never commit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from app.core.exports import Text
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.paging import CountedPage, paginate_counted
from app.core.text import contains_pattern
from app.crm import customer_mail, mail_replies
from app.crm.models import Interaction, MemberTag, Tag
from app.demand.models import Demand, DemandStatus
from app.grades.reading import grade_history, member_standing
from app.grades.table import load_rules
from app.mail.models import OutboxMail
from app.membership.models import Member, phone_key
from app.ordering.models import Order, OrderStatus

PER_PAGE = 25
MAX_QUERY = 200
MIN_INDEXED = 3  # the trigram index needs 3+ characters
RECORD_ORDERS = 20
RECORD_DEMANDS = 30
RECORD_MAILS = 50
RECORD_INTERACTIONS = 50
_TOP = "\U0010ffff"  # sorts after every character: "abc" <= x < "abc" + _TOP is a prefix range

SORTS = {
    "name": _l("Name A–Z"),
    "joined": _l("Newest members first"),
    "last_order": _l("Last order, newest first"),
    "spend": _l("Lifetime spend, highest first"),
}
OPT_OUTS = {
    "news": _l("Opted out of news mail"),
    "alerts": _l("Opted out of stock alerts"),
    "any": _l("Opted out of any mail"),
}
STATUSES = {
    "active": _l("Active accounts"),
    "deactivated": _l("Deactivated accounts"),
    "erased": _l("Erased on request"),
}
ACTIVE_DEMAND = (DemandStatus.OPEN, DemandStatus.NOTIFIED)


# --------------------------------------------------------------------------- order figures


def _stats_values(member_id_column) -> dict:
    standing = sa.and_(Order.member_id == member_id_column, Order.status != OrderStatus.CANCELLED)
    return {
        "order_count": sa.select(sa.func.count(Order.id)).where(standing).scalar_subquery(),
        # Revenue (paid orders, after discount). Money is integer cents in both columns: the
        # sum is cents too.
        "lifetime_spend": sa.select(sa.func.coalesce(Order.revenue_sum(), 0))
        .where(Order.member_id == member_id_column).scalar_subquery(),
        "last_order_at": sa.select(sa.func.max(Order.placed_at))
        .where(Order.member_id == member_id_column).scalar_subquery(),
    }


def refresh_order_stats(member_id: int | None) -> None:
    """Recompute one member's order count, lifetime spend (revenue) and last order from
    `orders`."""
    if member_id is None:
        return
    db.session.execute(
        sa.update(Member).where(Member.id == member_id)
        .values(_stats_values(Member.id))
        .execution_options(synchronize_session=False)
    )
    _expire_figures(member_id)


def _expire_figures(member_id: int) -> None:
    """A member object loaded in the session must not show the figures from before."""
    member = db.session.identity_map.get(db.session.identity_key(Member, member_id))
    if member is not None:
        db.session.expire(member, ["order_count", "lifetime_spend", "last_order_at"])


_MEMBER = Member.__table__
# Built once, on the table: it runs in every checkout, inside the write lock (see checkout).
_AT = sa.bindparam("placed_at", type_=_MEMBER.c.last_order_at.type)
_COUNT_NEW_ORDER = (
    sa.update(_MEMBER).where(_MEMBER.c.id == sa.bindparam("member_id"))
    .values(order_count=_MEMBER.c.order_count + 1,
            lifetime_spend=_MEMBER.c.lifetime_spend
            + sa.bindparam("revenue", type_=_MEMBER.c.lifetime_spend.type),
            last_order_at=sa.case(
                (sa.or_(_MEMBER.c.last_order_at.is_(None), _MEMBER.c.last_order_at < _AT), _AT),
                else_=_MEMBER.c.last_order_at))
)


def count_new_order(member_id: int | None, total: Decimal, placed_at: datetime, *,
                    status: OrderStatus) -> None:
    """Add an order just placed, in `status`, to its member's figures (what
    `refresh_order_stats` would compute, without reading the member's whole order history at
    each checkout): it counts, and its `total` is revenue only if it is placed paid already.
    One UPDATE either way."""
    if member_id is None:
        return
    revenue = total if Order.is_paid_status(status) else Decimal("0.00")
    db.session.execute(_COUNT_NEW_ORDER, {"member_id": member_id, "revenue": revenue,
                                          "placed_at": placed_at})
    _expire_figures(member_id)


def on_order_placed(order: Order, *, member: Member, when: datetime, **_: object) -> None:
    """Receiver of `order_placed`: the new order counts in its member's figures (one UPDATE)."""
    count_new_order(member.id, order.total, when, status=order.status)


def on_order_status_changed(order: Order, *, previous: OrderStatus, **_: object) -> None:
    """Receiver of `order_status_changed`: a cancellation takes the order out of the count;
    the lifetime spend (revenue) changes when the order becomes paid or a paid one is
    cancelled. Shipping and delivery change neither (no statement)."""
    if (order.status == OrderStatus.CANCELLED
            or Order.is_paid_status(order.status) != Order.is_paid_status(previous)):
        refresh_order_stats(order.member_id)


def on_order_refunded(order: Order, **_: object) -> None:
    """Receiver of `order_refunded`: the refund came off the order's revenue, so off the
    member's lifetime spend (one UPDATE)."""
    refresh_order_stats(order.member_id)


def refresh_all_order_stats(connection: sa.Connection | None = None) -> None:
    """Recompute the figures of every member (one UPDATE; seconds for 100,000 members).

    A migration passes its connection (`op.get_bind()`); otherwise the session is used."""
    stmt = sa.update(Member).values(_stats_values(Member.id))
    if connection is not None:
        connection.execute(stmt)
        return
    db.session.execute(stmt.execution_options(synchronize_session=False))
    db.session.expire_all()


def backfill_phone_keys(batch: int = 2000, connection: sa.Connection | None = None) -> int:
    """Fill `phone_key` for members written without the ORM (bulk seed, a migration: pass
    `op.get_bind()`)."""
    executor = connection if connection is not None else db.session
    rows = executor.execute(
        sa.select(Member.id, Member.phone).where(Member.phone.is_not(None),
                                                  Member.phone_key.is_(None))
    ).all()
    updates = [{"b_id": r.id, "b_key": phone_key(r.phone)} for r in rows]
    table = Member.__table__
    stmt = (sa.update(table).where(table.c.id == sa.bindparam("b_id"))
            .values(phone_key=sa.bindparam("b_key")))
    for start in range(0, len(updates), batch):
        if connection is not None:
            connection.execute(stmt, updates[start:start + batch])
        else:
            db.session.execute(stmt, updates[start:start + batch],
                               execution_options={"synchronize_session": False})
    return len(updates)


# --------------------------------------------------------------------------- search

_member_fts = sa.table("member_fts", sa.column("rowid", sa.Integer), sa.column("name", sa.Text))
_MEMBER_NO = re.compile(r"^m?(\d{4})-(\d{1,9})$", re.IGNORECASE)
_PHONE = re.compile(r"^[\d\s+().\-/]+$")
# An order reference as people write it: BS-0004327, bs 4327, BS4327.
_ORDER_NUMBER = re.compile(r"^BS[\s\-]?0*(\d{1,9})$", re.IGNORECASE)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def prefix_match(column, text: str) -> sa.ColumnElement[bool]:
    """`column` starts with `text`: a range the b-tree serves (any collation), made exact."""
    return sa.and_(column >= text, column < text + _TOP,
                   sa.func.substr(column, 1, len(text)) == text)


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _name_condition(text: str) -> sa.ColumnElement[bool] | None:
    # Words as typed (width-folded, not accent-stripped: names keep their accents).
    terms = unicodedata.normalize("NFKC", text).split()[:8]
    if not terms:
        return None
    dialect = _dialect()
    long_terms = [t for t in terms if len(t) >= MIN_INDEXED]
    short_terms = [t for t in terms if len(t) < MIN_INDEXED]
    conditions: list[sa.ColumnElement[bool]] = []
    if dialect == "sqlite" and long_terms:
        conditions.append(Member.id.in_(
            sa.select(_member_fts.c.rowid).where(
                _member_fts.c.name.match(" AND ".join(_fts_phrase(t) for t in long_terms)))
        ))
    elif long_terms:  # pg_trgm's GIN index serves ILIKE '%term%' for 3+ characters
        conditions += [Member.name.ilike(contains_pattern(t), escape="\\") for t in long_terms]
    # Words under 3 characters ("Li", "小明") cannot use the trigram index: a plain substring
    # test, on the rows the long words left or, alone, on the table (a scan of 100,000 short
    # names stays within the page budget; figures in bench/README.md).
    conditions += [Member.name.ilike(contains_pattern(t), escape="\\") for t in short_terms]
    return sa.and_(*conditions)


def _id_lookups(text: str) -> list[sa.Select]:
    """One `SELECT id` per way `text` may name a member; each is an index lookup."""
    lowered = text.lower()
    lookups: list[sa.Select] = []

    def ids(condition) -> sa.Select:
        return sa.select(Member.id).where(condition)

    if " " not in text and text.isascii():
        lookups.append(ids(prefix_match(Member.email, lowered)))
    number = _MEMBER_NO.match(text)
    if number:
        lookups.append(ids(prefix_match(Member.member_no, f"M{number.group(1)}-{number.group(2)}")))
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.isdecimal() and len(text) <= 9:
        lookups.append(ids(Member.id == int(text)))  # the number after the dash is the id
    if _PHONE.match(text) and len(digits) >= 4:
        keys = {digits[::-1]}
        if digits.startswith("0"):  # a trunk prefix: "0770 090" also finds "+44 770 090"
            keys.add(digits.lstrip("0")[::-1])
        lookups += [ids(prefix_match(Member.phone_key, key)) for key in sorted(keys) if key]
    if "@" not in text:
        name = _name_condition(text)
        if name is not None:
            lookups.append(ids(name))
    return lookups


def search_condition(query: str | None) -> sa.ColumnElement[bool] | None:
    """Members matching `query` by name, email, member number or phone (None: no query).

    `member.id IN (<lookup> UNION <lookup> ...)`: the database finds the few matching ids
    through the indexes first, whatever other filters the list adds (an OR of the conditions
    lets SQLite's planner pick, say, the join-date index for one branch and scan half the
    table)."""
    text = " ".join((query or "").split())[:MAX_QUERY]
    if not text:
        return None
    order = _ORDER_NUMBER.match(text)
    if order:  # an order reference (BS-0004327): its customer, by the orders' primary key
        return Member.id.in_(sa.select(Order.member_id).where(Order.id == int(order.group(1))))
    lookups = _id_lookups(text)
    if not lookups:
        return sa.false()
    if all(len(word) < MIN_INDEXED for word in text.split()):
        # "li", "小明": the name part is a scan whichever way; as a plain OR the page can stop
        # at the first 25 names in order instead of collecting every match first.
        return sa.or_(*(lookup.whereclause for lookup in lookups))
    return Member.id.in_(sa.union(*lookups) if len(lookups) > 1 else lookups[0])


# --------------------------------------------------------------------------- the list


@dataclass
class CustomerFilters:
    """What the customer list is asked for (already checked by the form)."""

    q: str = ""
    tier: str = ""
    joined_from: date | None = None
    joined_to: date | None = None
    last_order_from: date | None = None
    last_order_to: date | None = None
    open_demand: bool = False
    opted_out: str = ""  # "", "news", "alerts" or "any"
    tag_id: int | None = None
    segment: str = ""  # an RFM segment code of the latest analytics snapshot
    status: str = ""  # "", "active", "deactivated" or "erased"
    sort: str = "name"
    member_ids: tuple[int, ...] | None = None  # only these (the list's ticked customers)


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _end(day: date) -> datetime:
    """The first instant after `day` (ranges are [start, end))."""
    return _start(day + timedelta(days=1))


def filtered(stmt: sa.Select, filters: CustomerFilters) -> sa.Select:
    condition = search_condition(filters.q)
    if condition is not None:
        stmt = stmt.where(condition)
    if filters.member_ids is not None:
        stmt = stmt.where(Member.id.in_(filters.member_ids))
    if filters.tier:
        stmt = stmt.where(Member.tier_code == filters.tier)
    if filters.joined_from:
        stmt = stmt.where(Member.joined_at >= _start(filters.joined_from))
    if filters.joined_to:
        stmt = stmt.where(Member.joined_at < _end(filters.joined_to))
    if filters.last_order_from:
        stmt = stmt.where(Member.last_order_at >= _start(filters.last_order_from))
    if filters.last_order_to:
        stmt = stmt.where(Member.last_order_at < _end(filters.last_order_to))
    # Tag and demand: the few members are read from the small table (IN), not every
    # member tested in turn (EXISTS).
    if filters.open_demand:
        stmt = stmt.where(Member.id.in_(sa.select(Demand.member_id).where(
            Demand.member_id.is_not(None), Demand.status.in_(ACTIVE_DEMAND))))
    if filters.opted_out == "news":
        stmt = stmt.where(Member.mail_opt_in.is_(False))
    elif filters.opted_out == "alerts":
        stmt = stmt.where(Member.stock_alerts_opt_in.is_(False))
    elif filters.opted_out == "any":
        stmt = stmt.where(sa.or_(Member.mail_opt_in.is_(False),
                                 Member.stock_alerts_opt_in.is_(False)))
    if filters.tag_id is not None:
        stmt = stmt.where(Member.id.in_(sa.select(MemberTag.member_id).where(
            MemberTag.tag_id == filters.tag_id)))
    if filters.segment:
        from app.analytics.segments import members_in_segment

        stmt = stmt.where(Member.id.in_(members_in_segment(filters.segment)))
    if filters.status == "active":
        stmt = stmt.where(Member.is_active_account.is_(True))
    elif filters.status == "deactivated":
        stmt = stmt.where(Member.is_active_account.is_(False), Member.erased_at.is_(None))
    elif filters.status == "erased":
        stmt = stmt.where(Member.erased_at.is_not(None))
    return stmt


def _ordered(stmt: sa.Select, sort: str) -> sa.Select:
    if sort == "joined":
        return stmt.order_by(Member.joined_at.desc(), Member.id.desc())
    if sort == "last_order":
        if _dialect() == "postgresql":  # served by ix_member_last_order_desc
            return stmt.order_by(Member.last_order_at.desc().nulls_last(), Member.id.desc())
        return stmt.order_by(Member.last_order_at.desc(), Member.id.desc())  # NULLs last
    if sort == "spend":
        return stmt.order_by(Member.lifetime_spend.desc(), Member.id.desc())
    return stmt.order_by(Member.name, Member.id)


def list_customers(filters: CustomerFilters, page: int = 1, per_page: int = PER_PAGE
                   ) -> Pagination | CountedPage:
    """One page of customers: with a search, the page and its count in one query (the
    matches are looked up once); otherwise two (the count and the page, each on an index)."""
    stmt = _ordered(filtered(sa.select(Member), filters), filters.sort)
    if (filters.q or "").split():  # a search (search_condition is not None)
        return paginate_counted(stmt, page, per_page)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)


def tags_of(member_ids: list[int]) -> dict[int, list[Tag]]:
    """Tags of several members in one query (for a page of the list)."""
    result: dict[int, list[Tag]] = {i: [] for i in member_ids}
    if not member_ids:
        return result
    rows = db.session.execute(
        sa.select(MemberTag.member_id, Tag).join(Tag, Tag.id == MemberTag.tag_id)
        .where(MemberTag.member_id.in_(member_ids)).order_by(Tag.name)
    ).all()
    for member_id, tag in rows:
        result[member_id].append(tag)
    return result


def _tag_list_column() -> sa.ColumnElement[str]:
    names = sa.select(Tag.name).join(MemberTag, MemberTag.tag_id == Tag.id).where(
        MemberTag.member_id == Member.id)
    if _dialect() == "postgresql":
        aggregate = sa.func.string_agg(Tag.name, sa.literal_column("', '"))
    else:
        aggregate = sa.func.group_concat(Tag.name, ", ")
    return names.with_only_columns(aggregate).scalar_subquery()


CSV_HEADER = ["member_no", "name", "email", "phone", "tier", "role", "joined_at",
              "last_order_at", "order_count", "lifetime_spend", "news_mail", "stock_alerts",
              "active", "tags", "address_line1", "address_line2", "city", "region",
              "postcode", "country"]


def count_customers(filters: CustomerFilters) -> int:
    """How many customers the filters select (the rows of the CSV export)."""
    stmt = filtered(sa.select(Member.id), filters).order_by(None)
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


def customer_csv_rows(filters: CustomerFilters) -> Iterator[list[object]]:
    """The header, then one row per matching customer, read 500 at a time."""
    yield CSV_HEADER
    stmt = _ordered(filtered(sa.select(Member, _tag_list_column()), filters), filters.sort)
    for member, tags in db.session.execute(stmt.execution_options(yield_per=500)):
        yield [member.member_no, member.name, member.email,
               Text(member.phone) if member.phone else "", member.tier_code,
               member.role.value, member.joined_at.isoformat(),
               member.last_order_at.isoformat() if member.last_order_at else "",
               member.order_count, member.lifetime_spend, int(member.mail_opt_in),
               int(member.stock_alerts_opt_in), int(member.is_active_account), tags or "",
               member.address_line1, member.address_line2, member.city, member.region,
               member.postcode, member.country]


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class CustomerPanel:
    """A section another feature adds to the customer record (e.g. reviews and feedback).

    `loader(member)` returns the template's context (a dict) in a fixed, small number of
    queries; `template` is rendered with that context plus `member`."""

    key: str
    title: object
    template: str
    loader: Callable[[Member], dict]
    order: int = 100


_PANELS: list[CustomerPanel] = []


def register_customer_panel(key: str, title: object, template: str,
                            loader: Callable[[Member], dict], *, order: int = 100) -> None:
    """Add a section to every customer record (called from an init_app: the CRM's registers
    those of the features below it; idempotent by key)."""
    if any(panel.key == key for panel in _PANELS):
        return
    _PANELS.append(CustomerPanel(key, title, template, loader, order))
    _PANELS.sort(key=lambda panel: panel.order)


def customer_panels() -> list[CustomerPanel]:
    return list(_PANELS)


@dataclass
class CustomerRecord:
    member: Member
    standing: object
    grade_history: list
    orders: list[Order]
    demands: list[Demand]
    mails: list[OutboxMail]
    tags: list[Tag]
    interactions: list[Interaction]
    panels: list[tuple[CustomerPanel, dict]] = field(default_factory=list)
    # Every order of the member, cancelled ones included (`orders` shows the latest of them;
    # `member.order_count` leaves the cancelled ones out).
    order_total: int = 0
    # The service case a mail written from the record opened when it was answered, by mail id
    # (app.crm.mail_replies).
    mail_cases: dict = field(default_factory=dict)
    # The tier table the standing was read against (names the grades of the history).
    rules: tuple = ()


def customer_record(member: Member) -> CustomerRecord:
    """Everything about one member for the 360° page, in a fixed number of queries."""
    # The latest orders and, in the same query, how many there are in all.
    order_rows = db.session.execute(
        sa.select(Order, sa.func.count().over()).where(Order.member_id == member.id)
        .order_by(Order.placed_at.desc(), Order.id.desc()).limit(RECORD_ORDERS)
    ).all()
    orders = [order for order, _total in order_rows]
    demands = list(db.session.scalars(
        sa.select(Demand).where(Demand.member_id == member.id)
        .options(joinedload(Demand.book))
        .order_by(Demand.created_at.desc(), Demand.id.desc()).limit(RECORD_DEMANDS)
    ))
    mails = list(db.session.scalars(
        sa.select(OutboxMail).where(OutboxMail.member_id == member.id)
        .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(RECORD_MAILS)
    ))
    # One more query only when some of them were written from the record (they can be
    # answered).
    mail_cases = mail_replies.answered_cases(
        [mail.id for mail in mails if mail.kind == customer_mail.KIND])
    tags = tags_of([member.id])[member.id]
    interactions = list(db.session.scalars(
        sa.select(Interaction).where(Interaction.member_id == member.id)
        .options(joinedload(Interaction.staff), joinedload(Interaction.follow_up_done_by),
                 joinedload(Interaction.assignee))
        .order_by(Interaction.created_at.desc(), Interaction.id.desc())
        .limit(RECORD_INTERACTIONS)
    ))
    rules = load_rules()
    return CustomerRecord(
        member=member,
        standing=member_standing(member, rules=rules),
        rules=rules,
        grade_history=grade_history(member, limit=10),
        orders=orders, demands=demands, mails=mails, tags=tags, interactions=interactions,
        panels=[(panel, panel.loader(member)) for panel in _PANELS],
        order_total=order_rows[0][1] if order_rows else 0,
        mail_cases=mail_cases,
    )
