"""The call centre: a member of staff takes an order on the phone for a member.

Finding the caller (`find_callers`): name, email, member number or phone written any way (the
customer list's search, `customers.search_condition`), or the reference of one of their
orders (BS-0004327). The cart is the member's own saved cart (app.ordering.cart), priced with
their grade's discount as the website prices it (`phone_cart`). Placing the order
(`place_phone_order`) goes through the web's one checkout, `app.ordering.checkout.place_order`,
with the channel `phone` and the staff member as the one who placed it: the same stock rule
(never oversold), the same price and discount, the same confirmation mail to the customer.
The call is then noted on the record (app.crm.interactions) and audited ("order.phone_placed").

Functions flush, never commit; refusals are DomainErrors with a message for the staff member.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from app.catalog import staff_lists
from app.catalog.models import Book
from app.core.audit import record as audit
from app.core.errors import InvalidInput
from app.core.extensions import db
from app.core.formatting import money
from app.crm import customers, interactions
from app.crm.models import InteractionKind
from app.demand import lists, visitors
from app.demand.models import Demand
from app.demand.rules import DemandFieldError
from app.membership.members import InvalidEmail, normalise_email
from app.membership.models import Member
from app.ordering import cart, checkout
from app.ordering.models import Order, OrderChannel

CALLERS_LIMIT = 20
BOOKS_LIMIT = 10
_PHONE_LIKE = re.compile(r"^[\d\s+().\-/]+$")
SUFFIX_DIGITS = 8


def caller_condition(query: str | None) -> sa.ColumnElement[bool] | None:
    """Members the query names: the customer list's search (name, email, member number,
    phone, an order reference such as BS-0004327), and a long phone number by its last
    digits (a caller's number with a country code). None: no query."""
    condition = customers.search_condition(query)
    digits = "".join(ch for ch in query or "" if ch.isdigit())
    if condition is not None and _PHONE_LIKE.match(query or "") and len(digits) >= 10:
        # A caller's number often comes with a country code the record lacks (+86 ...): the
        # last eight digits name the line (a suffix range on `phone_key`, an index lookup).
        condition = sa.or_(condition, Member.id.in_(sa.select(Member.id).where(
            customers.prefix_match(Member.phone_key, digits[::-1][:SUFFIX_DIGITS]))))
    return condition


def find_callers(query: str | None, limit: int = CALLERS_LIMIT) -> list[Member]:
    """Up to `limit` members the caller may be, by name."""
    condition = caller_condition(query)
    if condition is None:
        return []
    return list(db.session.scalars(
        sa.select(Member).where(condition, Member.erased_at.is_(None))
        .order_by(Member.name, Member.id).limit(limit)))


def find_books(query: str | None, limit: int = BOOKS_LIMIT) -> list[Book]:
    """Books for sale whose title, authors or ISBN contain the text (the staff book list's
    search), for adding to the caller's cart."""
    text = " ".join((query or "").split())[:200]
    if not text:
        return []
    stmt = staff_lists.books_query(text=text, stock=None, sort="title", low_stock_threshold=0)
    return list(db.session.scalars(stmt.where(Book.is_active.is_(True)).limit(limit)))


def _check_callable(member: Member) -> None:
    if member.erased_at is not None:
        raise InvalidInput(_("This account was erased on request; it cannot be changed."))
    if not member.is_active_account:
        raise InvalidInput(_("This account is deactivated: reactivate it before taking an "
                             "order for it."))


def phone_cart(member: Member) -> cart.CartView:
    """The member's own cart, priced with their grade's discount exactly as on the web."""
    return cart.lines(member, {}, discount_rate=checkout.member_discount_rate(member))


def add_book(member: Member, book_id: int, quantity: int = 1) -> int:
    """Put copies of a book in the member's cart (the web's rule: never beyond the stock);
    returns the line's quantity now."""
    _check_callable(member)
    return cart.add(member, {}, book_id, quantity).quantity


def set_quantity(member: Member, book_id: int, quantity: int) -> int:
    _check_callable(member)
    return cart.set_quantity(member, {}, book_id, quantity)


def remove_book(member: Member, book_id: int) -> None:
    _check_callable(member)
    cart.remove(member, {}, book_id)


def place_phone_order(member: Member, staff: Member, *, address: checkout.ShippingAddress,
                      payment_method: str, note: str | None = None,
                      checkout_key: str | None = None) -> Order:
    """Place the member's cart as an order taken on the phone by `staff`: the web's checkout
    (stock, price, discount, confirmation mail), then the call noted on the record and the
    order audited. Raises what `checkout.place_order` raises (OutOfStock, EmptyCart,
    AlreadyPlaced, InvalidInput); the caller rolls back."""
    _check_callable(member)
    if not staff.is_staff:
        raise InvalidInput(_("Only staff can take an order on the phone."))
    order = checkout.place_order(member, address=address, payment_method=payment_method,
                                 note=note, checkout_key=checkout_key,
                                 channel=OrderChannel.PHONE, placed_by=staff)
    interactions.add_interaction(
        member, staff, InteractionKind.PHONE,
        ngettext("Order %(number)s taken on the phone: %(num)d book, %(total)s.",
                 "Order %(number)s taken on the phone: %(num)d books, %(total)s.",
                 sum(line.quantity for line in order.lines),
                 number=order.number, total=money(order.total)))
    audit.record(staff.id, staff.email, "order.phone_placed", order,
                 after={"member_id": member.id, "channel": order.channel.value,
                        "total": order.total, "payment_method": order.payment_method},
                 summary=f"Phone order {order.number} for member {member.id}")
    return order


# --------------------------------------------------------------------------- demand on the phone


def _book(book_id: int | None) -> Book | None:
    if isinstance(book_id, bool) or not isinstance(book_id, int) or book_id < 1:
        return None
    return db.session.get(Book, book_id)


def record_member_demand(member: Member, staff: Member, book_id: int, quantity: int = 1,
                         note: str | None = None) -> Demand:
    """A member on the phone wants a book that is out of stock: their demand, as if they had
    asked on the website (app.demand.lists: the same rules), noted on the record and
    audited."""
    _check_callable(member)
    demand = lists.record_demand(member, _book(book_id), quantity, note)
    demand.taken_by_id = staff.id
    db.session.flush()
    interactions.add_interaction(
        member, staff, InteractionKind.PHONE,
        _("Demand for “%(title)s” recorded on the phone (%(num)d).",
          title=demand.book.title, num=demand.quantity))
    audit.record(staff.id, staff.email, "demand.phone_recorded", demand,
                 after={"member_id": member.id, "book_id": demand.book_id,
                        "quantity": demand.quantity},
                 summary=f"Phone demand for member {member.id}")
    return demand


def record_caller_demand(staff: Member, *, email: str, name: str, book_id: int,
                         quantity: int = 1, note: str | None = None,
                         locale: str | None = None) -> Demand:
    """A caller who is not a member wants a book: a visitor's demand (app.demand.visitors),
    so the address is confirmed by the double opt-in mail before anything else is sent to
    it. An address that belongs to a member is refused: their record is where to take it."""
    if not (name or "").strip():
        raise DemandFieldError("name", _("Write the caller's name."))
    try:
        address = normalise_email(email)
    except InvalidEmail as exc:
        raise DemandFieldError("email", exc.message) from exc
    if db.session.scalar(sa.select(Member.id).where(Member.email == address)) is not None:
        raise DemandFieldError("email", _("This address belongs to a member: find them and "
                                          "record the demand on their record."))
    demand = visitors.record_visitor_demand(address, _book(book_id), quantity, note,
                                            caller_name=name, taken_by=staff, locale=locale)
    audit.record(staff.id, staff.email, "demand.phone_recorded", demand,
                 after={"book_id": demand.book_id, "quantity": demand.quantity,
                        "caller": True},
                 summary="Phone demand for a caller who is not a member")
    return demand
