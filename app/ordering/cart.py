"""Cart rules: one set of functions for the anonymous cart (in the session) and the member's.

An anonymous shopper's cart is `{str(book_id): quantity}` under `SESSION_KEY` in the Flask
session; a member's cart is the `Cart`/`CartLine` rows. Every function takes `member` (None for
an anonymous shopper) and the session mapping, and picks the right store itself.

Stock policy: adding (or raising a quantity) beyond the copies on hand is refused with a clear
message. Stock can still fall after a book went into a cart (someone else bought it), so the cart
view flags such lines, and checkout is where the rule is enforced for good, atomically
(`app.ordering.checkout.place_order`).

Functions flush, never commit; they raise `NotFound` and `InvalidInput` with user-safe messages.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.catalog.models import Book
from app.core.bulk import insert_rows, keep_as_loaded
from app.core.db import utcnow
from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.core.reads import columns_only, rows
from app.membership.models import Member
from app.ordering import pricing
from app.ordering.models import Cart, CartLine

SESSION_KEY = "cart"
MAX_LINE_QUANTITY = 99
# Distinct books in one cart: keeps the session cookie small and a runaway script harmless.
MAX_CART_LINES = 50


# --------------------------------------------------------------------------- view model


class CartBook(NamedTuple):
    """What a cart line shows and checks of its book, read as a plain row (loading Books
    through the ORM, every column and all, cost more than the cart page's query)."""

    id: int
    title: str
    authors: str
    price: Decimal
    stock_on_hand: int
    is_active: bool

    @property
    def in_stock(self) -> bool:
        return self.stock_on_hand > 0


_CART_BOOK_COLUMNS = (Book.id, Book.title, Book.authors, Book.price, Book.stock_on_hand,
                      Book.is_active)


@dataclass(frozen=True)
class CartItem:
    book: CartBook
    quantity: int
    line_total: Decimal

    @property
    def available(self) -> bool:
        return self.book.is_active

    @property
    def enough_stock(self) -> bool:
        return self.book.is_active and self.book.stock_on_hand >= self.quantity

    @property
    def problem(self) -> str | None:
        """Why this line cannot be bought as it stands, in words, or None."""
        if not self.book.is_active:
            return _("This book is no longer sold. Please remove it from your cart.")
        if self.book.stock_on_hand <= 0:
            return _("Sold out since you added it. Please remove it to check out.")
        if self.book.stock_on_hand < self.quantity:
            return ngettext(
                "Only %(num)d copy left: please lower the quantity.",
                "Only %(num)d copies left: please lower the quantity.",
                self.book.stock_on_hand,
            )
        return None


@dataclass(frozen=True)
class CartView:
    items: tuple[CartItem, ...]
    quote: pricing.Quote

    @property
    def is_empty(self) -> bool:
        return not self.items

    @property
    def has_problems(self) -> bool:
        return any(item.problem for item in self.items)

    @property
    def count(self) -> int:
        return sum(item.quantity for item in self.items)


# --------------------------------------------------------------------------- storage


def _session_lines(session: MutableMapping) -> dict[int, int]:
    """The session cart as {book_id: quantity}, ignoring anything malformed."""
    raw = session.get(SESSION_KEY) or {}
    lines: dict[int, int] = {}
    if not isinstance(raw, dict):
        return lines
    for key, value in raw.items():
        try:
            book_id, quantity = int(key), int(value)
        except (TypeError, ValueError):
            continue
        if book_id > 0 and quantity > 0:
            lines[book_id] = min(quantity, MAX_LINE_QUANTITY)
    return lines


def _store_session_lines(session: MutableMapping, lines: dict[int, int]) -> None:
    # Reassign (never mutate in place) so Flask sees the session changed.
    session[SESSION_KEY] = {str(book_id): quantity for book_id, quantity in lines.items()}


def _member_cart(member: Member, create: bool) -> Cart | None:
    cart = db.session.scalar(sa.select(Cart).where(Cart.member_id == member.id))
    if cart is None and create:
        cart = Cart(member_id=member.id)
        db.session.add(cart)
        db.session.flush()
    return cart


@dataclass
class _StoredCart:
    """A member's cart as one query reads it before a change: its id (None before the first
    book) and its lines by book id."""

    id: int | None
    lines: dict[int, CartLine]

    def cart_id(self, member: Member) -> int:
        if self.id is None:
            cart = _member_cart(member, create=True)
            assert cart is not None
            self.id = cart.id
        return self.id


# Built once (every add to the cart runs it): the cart's id with its lines, in one query.
_STORED_CART = (
    sa.select(Cart.id, CartLine)
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .where(Cart.member_id == sa.bindparam("member_id"))
)


def _stored_cart(member: Member) -> _StoredCart:
    rows = db.session.execute(_STORED_CART, {"member_id": member.id}).all()
    return _StoredCart(id=rows[0][0] if rows else None,
                       lines={line.book_id: line for _, line in rows if line is not None})


def _member_lines(member: Member) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(CartLine.book_id, CartLine.quantity)
        .join(Cart, CartLine.cart_id == Cart.id)
        .where(Cart.member_id == member.id)
        .order_by(CartLine.id)
    )
    return {book_id: quantity for book_id, quantity in rows}


def _current(stored: _StoredCart | None, session: MutableMapping, book_id: int) -> int | None:
    """The quantity of `book_id` in the cart now (None: not in it)."""
    if stored is None:
        return _session_lines(session).get(book_id)
    line = stored.lines.get(book_id)
    return line.quantity if line is not None else None


def raw_lines(member: Member | None, session: MutableMapping) -> dict[int, int]:
    """{book_id: quantity} in the order the books were added."""
    return _member_lines(member) if member is not None else _session_lines(session)


# --------------------------------------------------------------------------- rules


def _check_quantity(quantity: object, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not (
        low <= quantity <= MAX_LINE_QUANTITY
    ):
        raise InvalidInput(
            _("Please choose a quantity from %(low)d to %(high)d.", low=low,
              high=MAX_LINE_QUANTITY)
        )
    return quantity


# What adding a book checks of it, read as a plain row (a Book loaded through the ORM, its
# description and every other column, cost more than the statement): built once.
_SELLABLE_BOOK = columns_only(sa.select(*_CART_BOOK_COLUMNS).where(Book.id == sa.bindparam("id")))


def _sellable_book(book_id: object) -> CartBook:
    if isinstance(book_id, bool) or not isinstance(book_id, int) or book_id < 1:
        raise NotFound(_("We could not find that book."))
    row = rows(_SELLABLE_BOOK, {"id": book_id}).first()
    if row is None or not row.is_active:
        raise NotFound(_("We could not find that book."))
    return CartBook(*row)


def _check_stock(book: CartBook, wanted: int) -> None:
    if book.stock_on_hand <= 0:
        raise InvalidInput(_("Sorry, “%(title)s” is sold out.", title=book.title))
    if wanted > book.stock_on_hand:
        raise InvalidInput(
            ngettext(
                "Sorry, only %(num)d copy of “%(title)s” is in stock.",
                "Sorry, only %(num)d copies of “%(title)s” are in stock.",
                book.stock_on_hand,
                title=book.title,
            )
        )


def _put(member: Member | None, session: MutableMapping, book_id: int, quantity: int,
         stored: _StoredCart | None = None) -> None:
    """Set one line to `quantity` (> 0) in whichever store this shopper has; `stored` is the
    member's cart as the caller already read it (read here otherwise)."""
    if member is None:
        lines = _session_lines(session)
        if book_id not in lines and len(lines) >= MAX_CART_LINES:
            raise InvalidInput(_cart_full())
        lines[book_id] = quantity
        _store_session_lines(session, lines)
        return
    try:
        stored = stored or _stored_cart(member)
        line = stored.lines.get(book_id)
        if line is None:
            if len(stored.lines) >= MAX_CART_LINES:
                raise InvalidInput(_cart_full())
            # One INSERT, the line kept as loaded (app.core.bulk), without the unit of work.
            line = CartLine(cart_id=stored.cart_id(member), book_id=book_id, quantity=quantity,
                            added_at=utcnow())
            insert_rows([line])
            keep_as_loaded(line)
        else:
            line.quantity = quantity
        db.session.flush()
    except (IntegrityError, StaleDataError) as exc:
        # The same member's cart changed in another window between our read and this write
        # (a checkout emptied it, or the same book was added twice at once). The caller rolls
        # back; nothing is lost, and trying again works.
        raise InvalidInput(_("Your cart changed in another window at the same moment. "
                             "Please try again.")) from exc


def _cart_full() -> str:
    return _("Your cart holds at most %(max)d different books. Please check out or remove "
             "some first.", max=MAX_CART_LINES)


class Added(NamedTuple):
    """What `add` did: the line's quantity now, and the book's title (for the shopper)."""

    quantity: int
    title: str


def add(member: Member | None, session: MutableMapping, book_id: int, quantity: int = 1) -> Added:
    """Add `quantity` copies of a book; returns the line's new quantity and the book's title.

    Raises NotFound for an unknown or withdrawn book, InvalidInput for a quantity outside
    1..MAX_LINE_QUANTITY, a line that would pass MAX_LINE_QUANTITY, or more copies than in stock.
    """
    quantity = _check_quantity(quantity)
    book = _sellable_book(book_id)
    stored = _stored_cart(member) if member is not None else None
    current = _current(stored, session, book.id) or 0
    wanted = current + quantity
    if wanted > MAX_LINE_QUANTITY:
        raise InvalidInput(
            _("You can have at most %(max)d copies of one book in your cart (you already have "
              "%(current)d).", max=MAX_LINE_QUANTITY, current=current)
        )
    _check_stock(book, wanted)
    _put(member, session, book.id, wanted, stored)
    return Added(wanted, book.title)


def add_held(member: Member, book_id: int, held: int) -> int:
    """Put copies held for the member (a demand's hold) in their cart: the book's line becomes
    at least `held` copies, at most MAX_LINE_QUANTITY; returns its quantity.

    Unlike `add`, stock is not checked: held copies are not on the shelf, and checkout takes
    them from the hold. The caller has checked the hold (app.ordering.held). Raises
    InvalidInput like `add` when the cart is full or changed at the same moment.
    """
    stored = _stored_cart(member)
    current = _current(stored, {}, book_id) or 0
    wanted = min(max(current, held), MAX_LINE_QUANTITY)
    _put(member, {}, book_id, wanted, stored)
    return wanted


def set_quantity(member: Member | None, session: MutableMapping, book_id: int,
                 quantity: int) -> int:
    """Change a line's quantity; 0 removes it. Returns the new quantity.

    Lowering a quantity is always allowed (even below a stock that fell meanwhile); raising it
    beyond the stock on hand is refused like `add`.
    """
    quantity = _check_quantity(quantity, allow_zero=True)
    stored = _stored_cart(member) if member is not None else None
    current = _current(stored, session, book_id) if isinstance(book_id, int) else None
    if current is None:
        raise NotFound(_("That book is not in your cart."))
    if quantity == 0:
        remove(member, session, book_id, stored)
        return 0
    if quantity > current:
        book = _sellable_book(book_id)
        _check_stock(book, quantity)
    _put(member, session, book_id, quantity, stored)
    return quantity


def remove(member: Member | None, session: MutableMapping, book_id: int,
           stored: _StoredCart | None = None) -> None:
    """Take a book out of the cart; removing a book that is not there does nothing."""
    if member is None:
        lines = _session_lines(session)
        if lines.pop(book_id, None) is not None:
            _store_session_lines(session, lines)
        return
    line = (stored or _stored_cart(member)).lines.get(book_id)
    if line is not None:
        db.session.delete(line)
        db.session.flush()


# Built once, on the table (every checkout runs it inside the write lock); it says which lines
# went, so that any of them loaded in the session can be let go of.
_LINES, _CARTS = CartLine.__table__, Cart.__table__
_CLEAR = (
    sa.delete(_LINES)
    .where(_LINES.c.cart_id.in_(
        sa.select(_CARTS.c.id).where(_CARTS.c.member_id == sa.bindparam("member_id"))))
    .returning(_LINES.c.id)
)


def clear(member: Member | None, session: MutableMapping) -> None:
    if member is None:
        session.pop(SESSION_KEY, None)
        return
    # (the session flushes first, Core statement or not: a line added just now goes too)
    for (line_id,) in db.session.execute(_CLEAR, {"member_id": member.id}):
        forget_line(line_id)


def forget_line(line_id: int) -> None:
    """A line deleted by a Core statement: let go of it if this session has it loaded."""
    loaded = db.session.identity_map.get(db.session.identity_key(CartLine, line_id))
    if loaded is not None:
        db.session.expunge(loaded)


def count(member: Member | None, session: MutableMapping) -> int:
    """Copies in the cart: one SUM query for a member, no query at all for a visitor."""
    if member is None:
        return sum(_session_lines(session).values())
    return int(db.session.scalar(_COUNT, {"member_id": member.id}) or 0)


def count_column(member_id) -> sa.ScalarSelect:
    """`count()` as a column of a query, for the member whose id is `member_id` (a column or
    a bound parameter): the login loader reads it with the member (app.ordering.init_app)."""
    return (sa.select(sa.func.coalesce(sa.func.sum(CartLine.quantity), 0))
            .join(Cart, CartLine.cart_id == Cart.id)
            .where(Cart.member_id == member_id).scalar_subquery())


# The header's badge runs this on a member's page: built once.
_COUNT = sa.select(count_column(sa.bindparam("member_id")))


# A member's cart as the cart page shows it: each line's book and quantity, in the order the
# books were added, in one query (a line whose book was deleted drops out with the join).
_MEMBER_CART_BOOKS = columns_only(
    sa.select(*_CART_BOOK_COLUMNS, CartLine.quantity)
    .join(CartLine, CartLine.book_id == Book.id)
    .join(Cart, CartLine.cart_id == Cart.id)
    .where(Cart.member_id == sa.bindparam("member_id"))
    .order_by(CartLine.id)
)
_SESSION_CART_BOOKS = columns_only(
    sa.select(*_CART_BOOK_COLUMNS).where(Book.id.in_(sa.bindparam("ids", expanding=True))))


def lines(
    member: Member | None,
    session: MutableMapping,
    *,
    discount_rate: Decimal = Decimal("0"),
) -> CartView:
    """The cart as shown: each line with its book (all read in ONE query) and priced.

    Books that no longer exist are left out of the view; withdrawn books stay, flagged, so the
    shopper sees why they cannot be bought. Prices are today's database prices.
    """
    if member is not None:
        present = [(CartBook(*row[:-1]), row[-1]) for row in
                   rows(_MEMBER_CART_BOOKS, {"member_id": member.id})]
    else:
        wanted = _session_lines(session)
        books: dict[int, CartBook] = {}
        if wanted:
            books = {row.id: CartBook(*row)
                     for row in rows(_SESSION_CART_BOOKS, {"ids": list(wanted)})}
        present = [(books[book_id], quantity) for book_id, quantity in wanted.items()
                   if book_id in books]
    the_quote = pricing.quote(
        [(book.id, book.title, book.price, quantity) for book, quantity in present],
        discount_rate,
        shipping_fee=current_app.config["SHIPPING_FEE"],
        free_shipping_from=current_app.config["FREE_SHIPPING_FROM"],
    )
    items = tuple(
        CartItem(book=book, quantity=quantity, line_total=priced.line_total)
        for (book, quantity), priced in zip(present, the_quote.lines, strict=True)
    )
    return CartView(items=items, quote=the_quote)


def merge_session_cart(member: Member, session_lines: dict) -> None:
    """Move an anonymous cart into the member's cart at login.

    Quantities of a book in both add up, capped at MAX_LINE_QUANTITY; unknown or withdrawn
    books and malformed entries are dropped silently (stock is not checked here: the cart view
    flags a shortfall and checkout refuses it, but logging in never fails because of a cart).
    """
    incoming = _session_lines({SESSION_KEY: session_lines})
    if not incoming:
        return
    sellable = set(
        db.session.scalars(
            sa.select(Book.id).where(Book.id.in_(list(incoming)), Book.is_active.is_(True))
        )
    )
    if not sellable:
        return
    cart = _member_cart(member, create=True)
    assert cart is not None
    existing = {
        line.book_id: line
        for line in db.session.scalars(sa.select(CartLine).where(CartLine.cart_id == cart.id))
    }
    room = MAX_CART_LINES - len(existing)
    for book_id, quantity in incoming.items():
        if book_id not in sellable:
            continue
        line = existing.get(book_id)
        if line is not None:
            line.quantity = min(line.quantity + quantity, MAX_LINE_QUANTITY)
        elif room > 0:
            db.session.add(CartLine(cart_id=cart.id, book_id=book_id, quantity=quantity))
            room -= 1
    db.session.flush()
