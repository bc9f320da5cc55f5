"""Checkout: turn a cart into an order, without ever selling a copy we do not have.

`place_order` does everything in the caller's transaction (it flushes, never commits):

1. take the member's cart: its lines are read by the statement that deletes them (DELETE ...
   RETURNING), which is the checkout's first write. It holds the cart until the commit (the
   lines' row locks on PostgreSQL, the database's write lock on SQLite), so a second checkout
   of the same cart (a double click, a retried request, another window) waits for the first
   and then finds the cart empty: EmptyCart, never a second order;
2. price the lines from the database (never from the form) with `pricing.quote` and the
   member's discount rate, and snapshot title, authors, unit price and line total on each line,
   so a later price change never alters a past order; a book whose shelf plainly falls short is
   refused here already (step 4 at once);
3. write the order, its lines and its first OrderEvent, and queue the confirmation mail in the
   outbox (it is sent after the caller commits);
4. reserve stock with one conditional UPDATE per book, in ascending book id order (a fixed lock
   order, so two checkouts of the same books can never deadlock); a shortfall raises OutOfStock
   and the caller rolls back, which puts every reserved copy back, drops the order and its
   mail, and leaves the cart as it was. This comes last, with `order_placed` (the features
   above ordering follow it), so on PostgreSQL a book's row lock, which every buyer of the
   book waits for, is held only for the end of the checkout and its commit: buyers of one
   best seller once queued behind each other's whole checkout, mail rendering included. The
   price is the one read in step 2, a moment earlier; an edit committed in between is the
   next checkout's price.

A checkout form carries a one-time key (`new_checkout_key`), kept on the order under a unique
index on (member, key): the same form submitted again raises EmptyCart (the cart it emptied)
or, when the cart was filled again meanwhile, AlreadyPlaced, at the order's INSERT, even under
a race. Either way the caller rolls back and `order_placed_with` finds the order to show.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from app.catalog.models import Book
from app.core.bulk import insert_rows, keep_as_loaded
from app.core.db import UTCDateTime, utcnow
from app.core.errors import DomainError, InvalidInput
from app.core.extensions import db
from app.core.signals import order_placed
from app.core.urls import external_url
from app.demand import holds
from app.grades.discount import discount_rate_for
from app.mail.outbox import enqueue
from app.mail.rendering import unsaved_locale
from app.membership.models import Member
from app.ordering import cart, payment, pricing
from app.ordering.models import (
    Cart,
    CartLine,
    Order,
    OrderChannel,
    OrderEvent,
    OrderLine,
    OrderStatus,
)

NOTE_MAX_LENGTH = 500


class EmptyCart(DomainError):
    pass


class AlreadyPlaced(DomainError):
    """The checkout key was used already: its order exists. The caller rolls back (nothing of
    this attempt stays) and shows that order (`order_placed_with`)."""


# A checkout key: URL-safe base64 of 24 random bytes (32 characters); what a form may send
# back is checked against this shape, any length up to the column's.
CHECKOUT_KEY_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{16,64}\Z")


def new_checkout_key() -> str:
    """A one-time key for a checkout form: placing its order twice is impossible."""
    return secrets.token_urlsafe(24)


def order_placed_with(member: Member, checkout_key: str | None) -> Order | None:
    """The member's order placed with this checkout key, if any (one indexed query)."""
    if not checkout_key:
        return None
    return db.session.scalar(sa.select(Order).where(Order.member_id == member.id,
                                                    Order.checkout_key == checkout_key))


def has_placed_orders(member: Member) -> bool:
    return db.session.scalar(
        sa.select(sa.exists().where(Order.member_id == member.id))) or False


@dataclass(frozen=True)
class Shortfall:
    book_id: int
    title: str | None  # None when the book no longer exists at all
    requested: int
    available: int


class OutOfStock(DomainError):
    """Some books cannot be sold in the quantity asked; `shortfalls` says which and how many."""

    def __init__(self, shortfalls: list[Shortfall]) -> None:
        self.shortfalls = shortfalls
        super().__init__(" ".join(_shortfall_message(s) for s in shortfalls))


def _shortfall_message(s: Shortfall) -> str:
    if s.title is None:
        return _("A book in your cart is no longer sold.")
    if s.available <= 0:
        return _("Sorry, “%(title)s” has just sold out.", title=s.title)
    return ngettext(
        "Sorry, only %(num)d copy of “%(title)s” is left (you asked for %(requested)d).",
        "Sorry, only %(num)d copies of “%(title)s” are left (you asked for %(requested)d).",
        s.available,
        title=s.title,
        requested=s.requested,
    )


@dataclass(frozen=True)
class ShippingAddress:
    """Where the parcel goes; snapshotted onto the order as `ship_*`."""

    name: str
    line1: str
    city: str
    postcode: str
    country: str
    line2: str | None = None
    region: str | None = None
    phone: str | None = None

    # Column sizes on Order.ship_*; the form states the same limits.
    LIMITS = {"name": 120, "line1": 200, "line2": 200, "city": 100, "region": 100,
              "postcode": 20, "country": 60, "phone": 40}
    REQUIRED = ("name", "line1", "city", "postcode", "country")

    @classmethod
    def from_member(cls, member: Member) -> ShippingAddress:
        return cls(name=member.name, line1=member.address_line1 or "", city=member.city or "",
                   postcode=member.postcode or "", country=member.country or "",
                   line2=member.address_line2, region=member.region, phone=member.phone)

    def cleaned(self) -> ShippingAddress:
        """Whitespace tidied, blanks as None; InvalidInput for a missing or over-long part."""
        values: dict[str, str | None] = {}
        for f in fields(self):
            text = " ".join(str(getattr(self, f.name) or "").split()) or None
            if text is None and f.name in self.REQUIRED:
                raise InvalidInput(_("Please complete the delivery address."))
            if text is not None and len(text) > self.LIMITS[f.name]:
                raise InvalidInput(_("A part of the address is too long."))
            values[f.name] = text
        return replace(self, **values)


def member_discount_rate(member: Member) -> Decimal:
    """The discount rate (0.05 = 5 %) this member gets on the goods subtotal today.

    It is the rate of the grade the member holds (app.grades), read from the database on every
    call, so a grade raised a moment ago (an order just paid) applies to the very next cart and
    checkout without logging in again. The order stores the rate and tier that were applied.
    """
    return discount_rate_for(member)


class _WithTableNames(sa.ColumnElement[bool]):
    """An expression whose columns keep their table names in a RETURNING clause. SQLAlchemy
    writes SQLite's RETURNING columns without them, subqueries included, which turned the
    correlation `hold.book_id = cart_line.book_id` into the ambiguous `book_id = book_id`."""

    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element: sa.ColumnElement[bool]) -> None:
        self.element = element
        self.type = element.type


@compiles(_WithTableNames)
def _compile_with_table_names(element: _WithTableNames, compiler, **kw) -> str:
    return compiler.process(element.element, **dict(kw, include_table=True))


# The statements of a checkout are built once, here, on the tables (Core, not ORM-enabled
# statements, whose building and cache key cost more than running them): from the cart's DELETE
# on they run inside the database's write lock (SQLite), and the stock's UPDATEs take the books'
# row locks (PostgreSQL), which other checkouts wait for.
_BOOK, _CART, _LINE = Book.__table__, Cart.__table__, CartLine.__table__

# The cart is read by the statement that empties it: see the module's docstring.
_TAKE_CART = (
    sa.delete(_LINE)
    .where(_LINE.c.cart_id.in_(
        sa.select(_CART.c.id).where(_CART.c.member_id == sa.bindparam("member_id"))))
    .returning(_LINE.c.id, _LINE.c.book_id, _LINE.c.quantity,
               _WithTableNames(holds.has_held_copies(
                   sa.bindparam("member_id"), _LINE.c.book_id,
                   sa.bindparam("now", type_=UTCDateTime()))))
)

_TAKE_FROM_SHELF = (
    sa.update(_BOOK)
    .where(_BOOK.c.id == sa.bindparam("book_id"), _BOOK.c.is_active.is_(True),
           _BOOK.c.stock_on_hand >= sa.bindparam("quantity"))
    .values(stock_on_hand=_BOOK.c.stock_on_hand - sa.bindparam("quantity"),
            sold_count=_BOOK.c.sold_count + sa.bindparam("quantity"))
    .returning(_BOOK.c.id, _BOOK.c.title, _BOOK.c.authors, _BOOK.c.price)
)


def _take_cart(member: Member) -> tuple[dict[int, int], set[int]]:
    """Empty the member's saved cart and return it, {book_id: quantity} in the order the books
    went in, with which of its books have copies held for them (app.demand.holds): one
    statement.

    On PostgreSQL a second checkout of the same cart waits here on the lines' row locks and,
    once the first commits, deletes (and gets) nothing; on SQLite the DELETE is the write
    that takes the database's write lock, so the lines are read under it. A rollback (any
    error of the checkout) puts the lines back. A book put in the cart while this checkout
    runs stays in the cart: only the lines this DELETE returns are ordered.
    Lock order on PostgreSQL: the member's cart lines, then books by id, holds, demands, the
    member (the order's INSERTs between the lines and the books take only the key-share locks
    of their foreign keys, on the books and the member, which no UPDATE of a stock, a price or
    a member's figures waits for; nothing takes a book FOR UPDATE). A login that merges a
    visitor's cart writes the member before the lines: only a login merging a book already in
    the cart at the very moment of the checkout could meet it in the opposite order (the
    database then aborts one of the two, nothing half done).
    """
    rows = sorted(db.session.execute(_TAKE_CART, {"member_id": member.id, "now": utcnow()}))
    wanted: dict[int, int] = {}
    with_holds: set[int] = set()
    for line_id, book_id, quantity, is_held in rows:
        wanted[book_id] = quantity
        if is_held:
            with_holds.add(book_id)
        cart.forget_line(line_id)
    return wanted, with_holds


def _wanted(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for book_id, quantity in lines:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput(_("Please choose a quantity from 1 to %(max)d.",
                                 max=cart.MAX_LINE_QUANTITY))
        wanted[book_id] = wanted.get(book_id, 0) + quantity
    return wanted


# What an order line snapshots of a book (and its price), read before the stock is taken, with
# what says whether the shelf plainly falls short.
_PRICE_BOOKS = (
    sa.select(_BOOK.c.id, _BOOK.c.title, _BOOK.c.authors, _BOOK.c.price, _BOOK.c.is_active,
              _BOOK.c.stock_on_hand)
    .where(_BOOK.c.id.in_(sa.bindparam("ids", expanding=True)))
)


def reserve_stock(wanted: dict[int, int], member: Member | None = None,
                  held: set[int] | None = None) -> dict[int, sa.Row]:
    """Take the copies off the shelf, or raise OutOfStock naming every book that falls short.

    One conditional UPDATE per book, ascending by id: on PostgreSQL each takes the row lock and
    re-checks `stock_on_hand >= quantity` against the latest committed value, so of two buyers
    of the last copy exactly one gets a row back. The caller must roll back on OutOfStock.
    With `member`, copies held for them after a stock arrival (app.demand.holds)
    are used first, in the same lock order; only the rest comes off the shelf. `held` names
    the books with copies held for the member when the caller has read that already.
    Returns what the UPDATEs read back (RETURNING) of each book taken from the shelf: id,
    title, authors and price.
    """
    short: dict[int, int] = {}
    taken: dict[int, sa.Row] = {}
    if member is not None and held is None:
        held = holds.books_held_for(member.id, list(wanted))
    for book_id in sorted(wanted):
        quantity = wanted[book_id]
        if member is not None and book_id in held:
            quantity -= holds.take_held(member, book_id, quantity)
            if quantity == 0:
                continue
        row = db.session.execute(_TAKE_FROM_SHELF,
                                 {"book_id": book_id, "quantity": quantity}).first()
        if row is None:
            short[book_id] = quantity
        else:
            taken[book_id] = row
    if short:
        books = {
            b.id: b
            for b in db.session.scalars(
                sa.select(Book).where(Book.id.in_(list(short)))
                .execution_options(populate_existing=True)
            )
        }
        raise OutOfStock([
            Shortfall(
                book_id=book_id,
                title=books[book_id].title if book_id in books else None,
                requested=quantity,
                available=(books[book_id].stock_on_hand
                           if book_id in books and books[book_id].is_active else 0),
            )
            for book_id, quantity in short.items()
        ])
    for book_id in taken:  # a Book already loaded in this session must not show the old stock
        loaded = db.session.identity_map.get(db.session.identity_key(Book, book_id))
        if loaded is not None:
            db.session.expire(loaded, ["stock_on_hand", "sold_count"])
    return taken


def place_order(
    member: Member,
    *,
    address: ShippingAddress,
    payment_method: str,
    note: str | None = None,
    lines: Iterable[tuple[int, int]] | None = None,
    notify: bool = True,
    placed_at: datetime | None = None,
    checkout_key: str | None = None,
    channel: OrderChannel | str = OrderChannel.WEB,
    placed_by: Member | None = None,
) -> Order:
    """Place an order for `member` and return it (flushed, so it has an id and a number).

    `lines` are (book_id, quantity) pairs; None means the member's saved cart, which is
    emptied first (`_take_cart`). Raises EmptyCart, InvalidInput (address, note, payment
    method, quantity, a malformed key), OutOfStock or AlreadyPlaced (`checkout_key` placed
    an order of this member already); on any of them the caller rolls back. `notify=False`
    skips the confirmation mail and `placed_at` back-dates the order (both for loading
    history, e.g. the demo seed).

    The web's checkout and the call centre's phone order both come here, so stock, pricing,
    the discount and the mail are one rule: `channel` says where the order was taken
    (OrderChannel) and `placed_by` who took it for the member (a staff member on the phone;
    None: the member themselves). A phone order needs its staff member.
    """
    try:
        channel = OrderChannel(channel)
    except ValueError:
        raise InvalidInput(_("Unknown order channel.")) from None
    if channel == OrderChannel.PHONE and placed_by is None:
        raise InvalidInput(_("A phone order names the staff member who took it."))
    if checkout_key is not None and not CHECKOUT_KEY_PATTERN.fullmatch(checkout_key):
        raise InvalidInput(_("This checkout form has expired. Please check your order and "
                             "place it again."))
    method = payment.get_method(payment_method)
    address = address.cleaned()
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise InvalidInput(_("Your note can be at most %(max)d characters.", max=NOTE_MAX_LENGTH))
    wanted, with_holds = _take_cart(member) if lines is None else (_wanted(lines), None)
    if not wanted:
        raise EmptyCart(_("Your cart is empty."))

    held = with_holds if with_holds is not None else holds.books_held_for(member.id, list(wanted))
    books = {row.id: row for row in db.session.execute(_PRICE_BOOKS, {"ids": list(wanted)})}
    # A book that is plainly short (or gone) is refused before any work: reserve_stock names
    # each shortfall now (or, if copies arrived a moment ago, takes them).
    reserved = any(
        book_id not in books or (book_id not in held and not (
            books[book_id].is_active and books[book_id].stock_on_hand >= quantity))
        for book_id, quantity in wanted.items())
    if reserved:
        reserve_stock(wanted, member, held)
    rate = member_discount_rate(member)
    quote = pricing.quote(
        [(book_id, books[book_id].title, books[book_id].price, quantity)
         for book_id, quantity in wanted.items()],
        rate,
        shipping_fee=current_app.config["SHIPPING_FEE"],
        free_shipping_from=current_app.config["FREE_SHIPPING_FROM"],
    )
    when = placed_at or utcnow()
    order = Order(
        member_id=member.id,
        status=OrderStatus.PLACED,
        email=member.email,
        payment_method=method.code,
        ship_name=address.name,
        ship_line1=address.line1,
        ship_line2=address.line2,
        ship_city=address.city,
        ship_region=address.region,
        ship_postcode=address.postcode,
        ship_country=address.country,
        ship_phone=address.phone,
        subtotal=quote.subtotal,
        discount_total=quote.discount,
        shipping_fee=quote.shipping,
        total=quote.total,
        tier_code=member.tier_code,
        discount_rate=rate,
        note=note,
        checkout_key=checkout_key,
        channel=channel,
        placed_by_id=placed_by.id if placed_by is not None else None,
        placed_at=when,
    )
    # Written with Core INSERTs and kept as loaded (app.core.bulk), not flushed by the unit of
    # work: on SQLite these run inside the database's write lock, which every other checkout
    # and cart waits for.
    try:
        insert_rows([order])
    except IntegrityError as exc:
        # The only unique index an order's INSERT can break; a concurrent INSERT of the
        # same key waits for the other transaction and fails once it commits.
        if checkout_key is not None and "checkout_key" in str(exc.orig):
            raise AlreadyPlaced(_("This order is placed already.")) from exc
        raise
    lines = [
        OrderLine(
            order_id=order.id,
            book_id=line.book_id,
            title=line.title,
            authors=books[line.book_id].authors,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
        )
        for line in quote.lines
    ]
    event = OrderEvent(order_id=order.id, at=when, from_status=None,
                       to_status=OrderStatus.PLACED, actor_id=(placed_by or member).id)
    insert_rows(lines)
    insert_rows([event])
    order.lines = lines
    order.events = [event]
    keep_as_loaded(order, *lines, event)

    if notify:
        queue_confirmation(order)
    # The books' row locks come last (see the module's docstring): then books, holds, demands,
    # the member, in the documented lock order.
    if not reserved:
        reserve_stock(wanted, member, held)
    holds.fulfil_demands(member, list(wanted), when)  # their demand is met
    # The features above ordering follow (the customer's figures).
    order_placed.send(order, member=member, when=when, wanted=wanted)
    return order


def queue_confirmation(order: Order) -> None:
    """Queue the order-confirmation mail (once per order, whatever happens)."""
    enqueue(
        kind="order_confirmation",
        to_email=order.email,
        template="order_confirmation",
        context={
            "order": order,
            "payment": payment.get_method(order.payment_method).instructions(order),
            "payment_label": payment.get_method(order.payment_method).label,
            "order_url": external_url("cart.order_detail", order_id=order.id),
            "shop_name": current_app.config["SHOP_NAME"],
            "name": order.member.name,
        },
        member_id=order.member_id,
        dedupe_key=f"order_confirmation:{order.id}",
        new_key=True,  # the order was created in this transaction: no mail can carry it yet
        # The member is loaded already: no query for the mail's language.
        locale=order.member.locale or unsaved_locale(order.member_id),
    )
