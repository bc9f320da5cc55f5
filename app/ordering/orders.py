"""Order life cycle: placed → paid → shipped → delivered, or cancelled; and the member's orders.

Every change of status is one conditional UPDATE on the order (`WHERE status = <the status we
read>`), so two members of staff moving one order at once cannot both succeed: the second gets
InvalidTransition instead of, say, returning the stock twice. Functions flush, never commit.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.catalog.models import Book
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.paging import CountedPage
from app.core.signals import order_status_changed
from app.grades.member_regrade import on_order_cancelled, on_order_paid
from app.membership.models import Member
from app.ordering import payment
from app.ordering.models import Order, OrderEvent, OrderStatus

ORDERS_PER_PAGE = 20
MAX_PAGE = 10_000

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

# Which timestamp each status stamps.
_STAMPS = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
}

STATUS_LABELS = {
    OrderStatus.PLACED: _l("Placed"),
    OrderStatus.PAID: _l("Paid"),
    OrderStatus.SHIPPED: _l("Shipped"),
    OrderStatus.DELIVERED: _l("Delivered"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}


class InvalidTransition(DomainError):
    pass


def status_label(status: OrderStatus | str) -> str:
    return str(STATUS_LABELS.get(OrderStatus(status), status))


def allowed_next(order: Order) -> list[OrderStatus]:
    """The statuses this order may move to now, in life-cycle order (for admin buttons)."""
    return [s for s in OrderStatus if s in ALLOWED[order.status]]


def change_status(
    order: Order,
    new_status: OrderStatus | str,
    actor: Member | None = None,
    note: str | None = None,
) -> Order:
    """Move `order` to `new_status`, stamp the time, record who did it.

    Cancelling puts every line's copies back on the shelf (ascending book id, the same lock
    order as checkout) and takes them off `sold_count`. After the UPDATE (and the stock's
    return) it sends `order_status_changed` for the features above ordering, then regrades the
    member (`grades.member_regrade`). The move is in the order's history (OrderEvent); made by
    a staff member (`actor`), it is in the audit log too ("order.status"). Raises InvalidTransition
    for a move the life cycle does not allow, an unknown status, or an order that changed
    meanwhile; nothing is written then.
    """
    try:
        target = OrderStatus(new_status)
    except ValueError:
        raise InvalidTransition(_("That is not an order status.")) from None
    current = order.status
    if target not in ALLOWED[current]:
        raise InvalidTransition(
            _("An order that is %(current)s cannot become %(target)s.",
              current=status_label(current).lower(), target=status_label(target).lower())
        )
    given_note, note = note, (note or "").strip()[:500] or None
    now = utcnow()
    result = db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.status == current)
        .values({"status": target, _STAMPS[target]: now})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(order)
        raise InvalidTransition(
            _("Order %(number)s was changed by someone else meanwhile; please look again.",
              number=order.number)
        )
    # Mirror the UPDATE on the object without marking it dirty (no second UPDATE).
    set_committed_value(order, "status", target)
    set_committed_value(order, _STAMPS[target], now)

    if target is OrderStatus.CANCELLED:
        _return_stock(order)
    # The features above ordering follow (the customer's figures, the review invitation).
    order_status_changed.send(order, previous=current, actor=actor, now=now)
    # Member grades (below ordering): a payment counts towards the grade at once; cancelling
    # an order that had counted (paid or later) takes it back out.
    if target is OrderStatus.PAID:
        on_order_paid(order, actor=actor, now=now)
    elif target is OrderStatus.CANCELLED and Order.is_paid_status(current):
        on_order_cancelled(order, actor=actor, now=now)
    db.session.add(OrderEvent(order_id=order.id, at=now, from_status=current, to_status=target,
                              actor_id=actor.id if actor is not None else None, note=note))
    db.session.flush()
    db.session.expire(order, ["events"])
    if actor is not None:
        audit.record(actor.id, actor.email, "order.status", order,
                     before={"status": current}, after={"status": target},
                     summary=f"{order.number}: {current.value} → {target.value}"
                             + (f" ({given_note})" if given_note else ""))
    return order


def _return_stock(order: Order) -> None:
    quantities: dict[int, int] = {}
    for line in order.lines:
        quantities[line.book_id] = quantities.get(line.book_id, 0) + line.quantity
    for book_id in sorted(quantities):
        quantity = quantities[book_id]
        db.session.execute(
            sa.update(Book)
            .where(Book.id == book_id)
            .values(
                stock_on_hand=Book.stock_on_hand + quantity,
                sold_count=sa.case((Book.sold_count >= quantity, Book.sold_count - quantity),
                                   else_=0),
            )
            .execution_options(synchronize_session=False)
        )
    # Books already in this session now show stale counts: reload them when next read.
    for book in db.session.identity_map.values():
        if isinstance(book, Book) and book.id in quantities:
            db.session.expire(book, ["stock_on_hand", "sold_count"])


# --------------------------------------------------------------------------- the member's view


# Built once (every visit of a member's order list runs them): a page of the member's orders,
# newest first, with their lines (one more query, not one per order), and their number.
_MEMBERS_ORDERS = (
    sa.select(Order)
    .where(Order.member_id == sa.bindparam("member_id"))
    .options(selectinload(Order.lines))
    .order_by(Order.placed_at.desc(), Order.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
    .offset(sa.bindparam("offset", type_=sa.Integer))
)
_MEMBERS_ORDER_COUNT = (sa.select(sa.func.count()).select_from(Order)
                        .where(Order.member_id == sa.bindparam("member_id")))


def orders_for_member(member: Member, page: int = 1) -> CountedPage:
    """The member's orders, newest first, with their lines loaded (no N+1 on the list page).

    A page past the end is empty; a page below 1 or absurdly large raises NotFound. A first
    page that is not full is all there is, so it is not counted apart.
    """
    if not isinstance(page, int) or page < 1 or page > MAX_PAGE:
        raise NotFound(_("There is no such page."))
    values = {"member_id": member.id, "limit": ORDERS_PER_PAGE,
              "offset": (page - 1) * ORDERS_PER_PAGE}
    items = list(db.session.scalars(_MEMBERS_ORDERS, values))
    if page == 1 and len(items) < ORDERS_PER_PAGE:
        total = len(items)
    else:
        total = db.session.execute(_MEMBERS_ORDER_COUNT, values).scalar_one()
    return CountedPage(items, total, page, ORDERS_PER_PAGE)


# Built once (the page after every checkout runs it): the order with its lines in one query.
# Its history (`Order.events`) loads when read: the member's order page shows the dates kept on
# the order itself, and only the API's order detail lists the events.
_MEMBERS_ORDER = (
    sa.select(Order)
    .where(Order.id == sa.bindparam("order_id"), Order.member_id == sa.bindparam("member_id"))
    .options(joinedload(Order.lines))
)


def order_for_member(member: Member, order_id: int) -> Order:
    """One of the member's own orders; NotFound for anyone else's (it must not even exist)."""
    order = db.session.scalars(
        _MEMBERS_ORDER, {"order_id": order_id, "member_id": member.id}).unique().first()
    if order is None:
        raise NotFound(_("We could not find that order."))
    return order


def payment_instructions(order: Order) -> payment.PaymentOutcome | None:
    """How to pay this order, while it still waits for payment; None once paid or cancelled."""
    if order.status is not OrderStatus.PLACED:
        return None
    try:
        method = payment.get_method(order.payment_method)
    except DomainError:
        return None
    return method.instructions(order)


def payment_label(order: Order) -> str:
    method = payment.METHODS.get(order.payment_method)
    return str(method.label) if method is not None else order.payment_method
