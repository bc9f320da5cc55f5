"""Return requests: asking, the return window, and the life cycle staff move them along.

    requested → approved → received → refunded
    requested | approved | received → rejected (with a reason the member is mailed)

A received return leaves in one of two ways: refunded, or rejected when nothing that came back
is worth refunding. When an order-level refund already gave back everything paid, refunding
the return with no amount closes it (refunded, with no refund of its own: `refund_return`).

- A member may ask to return copies of their own DELIVERED order within the return window:
  `RETURN_WINDOW_DAYS` (default 30) days from delivery (`Order.delivered_at`), the last moment
  included (delivered at 10:00 on the 1st: until 10:00 on the 31st). Staff may open a return
  for any shipped or delivered order, window or not (one not shipped yet is cancelled).
- A line's copies can be asked back only once: the copies already in a return that is not
  rejected are not returnable again (checked under the order's row lock).
- Receiving says, per line, how many copies came back and whether they can be sold again:
  resaleable copies go back to stock through `app.demand.stock.receive_stock`, exactly as a
  stock receipt, so readers waiting for the book are served (held copies, arrival mails).
- Refunding a return (`refund_return`) records a refund for it (`app.returns.refunds`), once
  it is received: what came back is known, and receiving is never locked out by an early
  refund. Staff who refund without the goods use the order's own refund (`refund_order`,
  /admin/orders/<id>/refund).

Every step is one conditional UPDATE on the request's status, so two members of staff acting
at once cannot both move it. Steps by staff are in the audit log; each step mails the member
(`notices`); a request sends `return_requested`. Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.errors import DomainError, NotFound
from app.core.extensions import db
from app.core.formatting import money, when
from app.core.i18n import lazy_gettext as _l
from app.core.signals import return_requested
from app.demand.stock import receive_stock
from app.membership.models import Member
from app.ordering.models import Order, OrderStatus
from app.returns import notices
from app.returns.models import (
    Refund,
    Restock,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from app.returns.refunds import RefundRefused, lines_value, lock_order, refund_order

DETAILS_MAX = 1000
REJECT_MAX = 500

REASON_LABELS = {
    ReturnReason.DAMAGED: _l("The book arrived damaged"),
    ReturnReason.WRONG_ITEM: _l("I received the wrong book"),
    ReturnReason.NOT_AS_DESCRIBED: _l("Not as described"),
    ReturnReason.ARRIVED_LATE: _l("It arrived too late"),
    ReturnReason.CHANGED_MIND: _l("I changed my mind"),
    ReturnReason.OTHER: _l("Another reason"),
}
STATUS_LABELS = {
    ReturnStatus.REQUESTED: _l("Return requested"),
    ReturnStatus.APPROVED: _l("Approved"),
    ReturnStatus.RECEIVED: _l("Received"),
    ReturnStatus.REFUNDED: _l("Refunded"),
    ReturnStatus.REJECTED: _l("Rejected"),
}
RESTOCK_LABELS = {
    Restock.RESALEABLE: _l("Resaleable: back to stock"),
    Restock.DAMAGED: _l("Damaged: not sold again"),
}


class ReturnRefused(DomainError):
    """A return that cannot be asked for or moved as asked."""


def reason_label(reason: ReturnReason | str) -> str:
    return str(REASON_LABELS.get(ReturnReason(reason), reason))


def status_label(status: ReturnStatus | str) -> str:
    return str(STATUS_LABELS.get(ReturnStatus(status), status))


# --------------------------------------------------------------------------- the window


def window_days() -> int:
    days = current_app.config.get("RETURN_WINDOW_DAYS", 30)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 3650:
        raise RuntimeError("RETURN_WINDOW_DAYS must be a whole number of days, 0..3650")
    return days


def return_window_end(order: Order) -> datetime | None:
    """The last moment the member may ask to return copies of `order`; None if it was never
    delivered (or is no longer: cancelled)."""
    if order.status is not OrderStatus.DELIVERED or order.delivered_at is None:
        return None
    return order.delivered_at + timedelta(days=window_days())


def window_open(order: Order, now: datetime | None = None) -> bool:
    end = return_window_end(order)
    return end is not None and (now or utcnow()) <= end


# --------------------------------------------------------------------------- asking


def returnable(order: Order) -> dict[int, int]:
    """{order line id: copies that may still be asked back} (copies in a return that was not
    rejected are taken, and so are the copies that came back on one rejected once received)."""
    copies = sa.case((ReturnRequest.status != ReturnStatus.REJECTED, ReturnLine.quantity),
                     else_=sa.func.coalesce(ReturnLine.received_quantity, 0))
    taken = dict(db.session.execute(
        sa.select(ReturnLine.order_line_id, sa.func.sum(copies))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.order_id == order.id)
        .group_by(ReturnLine.order_line_id)).all())
    return {line.id: line.quantity - int(taken.get(line.id, 0)) for line in order.lines}


def returns_for_order(order_id: int) -> list[ReturnRequest]:
    return list(db.session.scalars(
        sa.select(ReturnRequest).where(ReturnRequest.order_id == order_id)
        .options(selectinload(ReturnRequest.lines).selectinload(ReturnLine.order_line))
        .order_by(ReturnRequest.id)))


def request_return(order: Order, member: Member, quantities: Mapping[int, int],
                   reason: ReturnReason | str, details: str | None = None,
                   now: datetime | None = None) -> ReturnRequest:
    """The member asks to return copies of their own delivered order ({order line id:
    copies}); ReturnRefused outside the window, NotFound for another member's order."""
    now = now or utcnow()
    if order.member_id != member.id:
        raise NotFound(_("We could not find that order."))
    if order.status is not OrderStatus.DELIVERED:
        raise ReturnRefused(_("Books can be returned once the order is delivered."))
    end = return_window_end(order)
    if end is None or now > end:
        raise ReturnRefused(_(
            "The return window of order %(number)s closed on %(date)s: books can be returned "
            "for %(days)d days after delivery.", number=order.number,
            date=when(end), days=window_days()))
    return _open(order, quantities, reason, details, opened_by=member, by_staff=False, now=now)


def open_return_for(order: Order, staff: Member, quantities: Mapping[int, int],
                    reason: ReturnReason | str, details: str | None = None,
                    now: datetime | None = None) -> ReturnRequest:
    """Staff open a return for any shipped or delivered order (no window); audited. An order
    paid but not shipped is cancelled instead (cancelling puts its copies back in stock: a
    return received as well would put them back twice)."""
    now = now or utcnow()
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise ReturnRefused(_("Only a shipped or delivered order can be returned; an order "
                              "not shipped yet is cancelled instead."))
    request = _open(order, quantities, reason, details, opened_by=staff, by_staff=True, now=now)
    audit.record(staff.id, staff.email, "return.open", request,
                 after={"order": order.number, "reason": request.reason,
                        "lines": {str(line.order_line_id): line.quantity
                                  for line in request.lines}},
                 summary=f"{request.number} opened for {order.number}")
    return request


def _open(order: Order, quantities: Mapping[int, int], reason: ReturnReason | str,
          details: str | None, *, opened_by: Member, by_staff: bool,
          now: datetime) -> ReturnRequest:
    try:
        reason = ReturnReason(reason)
    except ValueError:
        raise ReturnRefused(_("Please choose a reason from the list.")) from None
    details = (details or "").strip() or None
    if details is not None and len(details) > DETAILS_MAX:
        raise ReturnRefused(_("At most %(max)d characters, please.", max=DETAILS_MAX))
    order = lock_order(order.id)  # two requests at once cannot ask the same copies back
    left = returnable(order)
    wanted: dict[int, int] = {}
    for line_id, copies in quantities.items():
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
            raise ReturnRefused(_("Enter a whole number of copies."))
        if copies == 0:
            continue
        if line_id not in left:
            raise ReturnRefused(_("That book is not in this order."))
        if copies > left[line_id]:
            raise ReturnRefused(_("You can return at most %(count)d of that book.",
                                  count=left[line_id]))
        wanted[line_id] = copies
    if not wanted:
        raise ReturnRefused(_("Choose how many copies of which book you want to return."))
    request = ReturnRequest(order_id=order.id, member_id=order.member_id, reason=reason,
                            details=details, opened_by_id=opened_by.id,
                            opened_by_staff=by_staff, created_at=now,
                            lines=[ReturnLine(order_line_id=line_id, quantity=copies)
                                   for line_id, copies in sorted(wanted.items())])
    db.session.add(request)
    db.session.flush()
    return_requested.send(request)
    notices.requested(request)
    return request


# --------------------------------------------------------------------------- staff steps


def get_request(return_id: int) -> ReturnRequest:
    request = db.session.scalar(
        sa.select(ReturnRequest).where(ReturnRequest.id == return_id)
        .options(selectinload(ReturnRequest.lines).selectinload(ReturnLine.order_line),
                 selectinload(ReturnRequest.refunds)))
    if request is None:
        raise NotFound(_("There is no such return."))
    return request


_STAMPS = {
    ReturnStatus.APPROVED: "approved_at",
    ReturnStatus.REJECTED: "rejected_at",
    ReturnStatus.RECEIVED: "received_at",
    ReturnStatus.REFUNDED: "refunded_at",
}


def _move(request: ReturnRequest, allowed_from: tuple[ReturnStatus, ...], target: ReturnStatus,
          now: datetime, **values: object) -> ReturnStatus:
    """One conditional UPDATE from the status we read; ReturnRefused if it is not allowed
    from there or someone moved the request meanwhile."""
    current = request.status
    if current not in allowed_from:
        raise ReturnRefused(_("A return that is %(current)s cannot become %(target)s.",
                              current=status_label(current).lower(),
                              target=status_label(target).lower()))
    result = db.session.execute(
        sa.update(ReturnRequest)
        .where(ReturnRequest.id == request.id, ReturnRequest.status == current)
        .values({"status": target, _STAMPS[target]: now, **values})
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(request)
        raise ReturnRefused(_("Return %(number)s was changed by someone else meanwhile; "
                              "please look again.", number=request.number))
    db.session.refresh(request, ["status", _STAMPS[target], *values])
    return current


def _audit(staff: Member, request: ReturnRequest, action: str, before: ReturnStatus,
           summary: str, **after: object) -> None:
    audit.record(staff.id, staff.email, f"return.{action}", request,
                 before={"status": before}, after={"status": request.status, **after},
                 summary=f"{request.number}: {summary}")


def approve(request: ReturnRequest, staff: Member, now: datetime | None = None) -> None:
    now = now or utcnow()
    before = _move(request, (ReturnStatus.REQUESTED,), ReturnStatus.APPROVED, now)
    _audit(staff, request, "approve", before, "approved")
    notices.approved(request)


def reject(request: ReturnRequest, staff: Member, reason: str | None,
           now: datetime | None = None) -> None:
    """Refuse the return; the reason is required, kept and mailed to the member. A received
    return may still be rejected (nothing that came back is worth refunding): what came back
    stays recorded, and those copies cannot be asked back again."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ReturnRefused(_("Say why the return is rejected: the member is told."))
    if len(reason) > REJECT_MAX:
        raise ReturnRefused(_("At most %(max)d characters, please.", max=REJECT_MAX))
    now = now or utcnow()
    before = _move(request, (ReturnStatus.REQUESTED, ReturnStatus.APPROVED,
                             ReturnStatus.RECEIVED), ReturnStatus.REJECTED, now,
                   reject_reason=reason)
    _audit(staff, request, "reject", before, f"rejected ({reason})", reject_reason=reason)
    notices.rejected(request)


def receive(request: ReturnRequest, staff: Member,
            received: Mapping[int, tuple[int, Restock | str]],
            now: datetime | None = None) -> int:
    """Record what came back: {return line id: (copies received, restock choice)}. Resaleable
    copies go back to stock as a stock receipt (`receive_stock`: waiting readers are served
    and told exactly as by any receipt). Returns the copies restocked."""
    now = now or utcnow()
    plan: list[tuple[ReturnLine, int, Restock]] = []
    for line in request.lines:
        if line.id not in received:
            raise ReturnRefused(_("Say what came back of every book."))
        copies, choice = received[line.id]
        try:
            choice = Restock(choice)
        except ValueError:
            raise ReturnRefused(_("Choose whether the copies can be sold again.")) from None
        if isinstance(copies, bool) or not isinstance(copies, int) \
                or not 0 <= copies <= line.quantity:
            raise ReturnRefused(_("Enter a number of copies from 0 to %(max)d.",
                                  max=line.quantity))
        plan.append((line, copies, choice))
    before = _move(request, (ReturnStatus.APPROVED,), ReturnStatus.RECEIVED, now)
    restocked = 0
    for line, copies, choice in plan:
        line.received_quantity = copies
        line.restock = choice
        if choice is Restock.RESALEABLE and copies:
            receive_stock(line.order_line.book_id, copies, supplier=None,
                          reference=f"Return {request.number}",
                          note=f"Returned from order {request.order.number}", actor=staff)
            restocked += copies
    db.session.flush()
    _audit(staff, request, "receive", before, f"received, {restocked} back to stock",
           lines={str(line.id): [copies, choice] for line, copies, choice in plan})
    return restocked


def refund_return(request: ReturnRequest, staff: Member, *, lines: Decimal | None,
                  shipping: Decimal | None, goodwill: Decimal | None, note: str | None = None,
                  now: datetime | None = None, form_key: str | None = None) -> Refund | None:
    """Refund a received return (the refund is audited by `refund_order`); a form sent again
    (`form_key`) finds the refund it made. A return not received yet is refused: receiving
    comes first (a refund without the goods is the order's own refund).

    With no amount at all, on an order with nothing left to refund (an order-level refund
    already gave everything back), the return is closed: refunded, with no refund of its
    own, audited as `return.close`; returns None. With no amount on an order that still has
    money to refund, RefundRefused asks for an amount.

    The books' part is at most what the copies received on this return brought in
    (`refunds.lines_value`); shipping and goodwill follow `refund_order`'s rules. The return
    is moved to refunded before the payment method pays out (a return moved meanwhile by
    someone else is refused first), and a refund refused after the move undoes it."""
    now = now or utcnow()
    order = lock_order(request.order_id)  # a form sent twice at once: the second waits here
    if form_key:
        done = db.session.scalar(sa.select(Refund).where(
            Refund.return_id == request.id, Refund.form_key == form_key))
        if done is not None:
            return done
    if request.status is ReturnStatus.APPROVED:
        raise ReturnRefused(_("Record what came back before refunding return %(number)s; to "
                              "refund without the books, refund the order itself.",
                              number=request.number))
    if request.status is not ReturnStatus.RECEIVED:
        raise ReturnRefused(_("A return that is %(current)s cannot be refunded.",
                              current=status_label(request.status).lower()))
    if all(part is None or part == 0 for part in (lines, shipping, goodwill)):
        if order.refundable > 0:
            raise RefundRefused(_("Enter an amount to refund."))
        before = _move(request, (ReturnStatus.RECEIVED,), ReturnStatus.REFUNDED, now)
        _audit(staff, request, "close", before,
               f"closed, nothing left to refund on {order.number}")
        return None
    received = lines_value(order, {line.order_line_id: line.received_quantity or 0
                                   for line in request.lines})
    if isinstance(lines, Decimal) and lines.is_finite() and lines > received:
        raise RefundRefused(_("For the books, at most %(max)s: the value of the copies "
                              "received on return %(number)s.", max=money(received),
                              number=request.number))
    # The move first, then the payout: a return refunded by someone else meanwhile is refused
    # before the payment method is asked for anything; a refused refund undoes the move.
    with db.session.begin_nested():
        before = _move(request, (ReturnStatus.RECEIVED,), ReturnStatus.REFUNDED, now)
        refund = refund_order(order, lines=lines, shipping=shipping, goodwill=goodwill,
                              actor=staff, note=note, return_request=request, now=now,
                              form_key=form_key)
    _audit(staff, request, "refund", before, f"refunded {refund.amount:.2f}",
           refund=refund.id)
    return refund


# --------------------------------------------------------------------------- lists


def returns_page(status: ReturnStatus | None, page: int, per_page: int):
    stmt = (sa.select(ReturnRequest)
            .options(selectinload(ReturnRequest.member), selectinload(ReturnRequest.order),
                     selectinload(ReturnRequest.lines))
            .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc()))
    if status is not None:
        stmt = stmt.where(ReturnRequest.status == status)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def order_returns_and_refunds(order_id: int) -> dict:
    """The returns and refunds of one order (the admin order page's section)."""
    return {"returns": returns_for_order(order_id),
            "refunds": list(db.session.scalars(
                sa.select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)))}


def member_returns(member_id: int, limit: int = 20) -> list[ReturnRequest]:
    return list(db.session.scalars(
        sa.select(ReturnRequest).where(ReturnRequest.member_id == member_id)
        .options(selectinload(ReturnRequest.lines).selectinload(ReturnLine.order_line),
                 selectinload(ReturnRequest.order), selectinload(ReturnRequest.refunds))
        .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc()).limit(limit)))


def member_refunds(member_id: int, limit: int = 20) -> list[Refund]:
    return list(db.session.scalars(
        sa.select(Refund).join(Order, Order.id == Refund.order_id)
        .where(Order.member_id == member_id)
        .options(selectinload(Refund.order))
        .order_by(Refund.created_at.desc(), Refund.id.desc()).limit(limit)))
