"""What a member wrote on their returns, for their data export and for erasure (the CRM's
`member_export` and its erasure hook)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.core.extensions import db
from app.membership.models import Member
from app.ordering import payment
from app.ordering.models import Order
from app.returns.models import Refund, ReturnLine, ReturnRequest

ERASED_TEXT = "[erased]"


def _when(value) -> str | None:
    return value.isoformat() if value else None


def member_returns_data(member_id: int) -> list[dict]:
    """The member's returns (with their lines and refunds), oldest first, JSON-safe."""
    requests = db.session.scalars(
        sa.select(ReturnRequest).where(ReturnRequest.member_id == member_id)
        .options(selectinload(ReturnRequest.lines).selectinload(ReturnLine.order_line),
                 selectinload(ReturnRequest.order), selectinload(ReturnRequest.refunds))
        .order_by(ReturnRequest.created_at, ReturnRequest.id)).all()
    return [{
        "number": r.number, "order": r.order.number, "status": r.status.value,
        "reason": r.reason.value, "text": r.details, "reject_reason": r.reject_reason,
        "opened_by": "staff" if r.opened_by_staff else "you",
        "created_at": _when(r.created_at), "approved_at": _when(r.approved_at),
        "rejected_at": _when(r.rejected_at), "received_at": _when(r.received_at),
        "refunded_at": _when(r.refunded_at),
        "lines": [{"title": li.order_line.title, "quantity": li.quantity,
                   "received": li.received_quantity} for li in r.lines],
    } for r in requests]


def member_refunds_data(member_id: int) -> list[dict]:
    """Every refund on the member's orders (with or without a return), oldest first."""
    refunds = db.session.execute(
        sa.select(Refund, Order.id).join(Order, Order.id == Refund.order_id)
        .where(Order.member_id == member_id).order_by(Refund.created_at, Refund.id)).all()
    return [{
        "order": Order.number_for(order_id), "amount": str(r.amount),
        "lines": str(r.lines_amount), "shipping": str(r.shipping_amount),
        "goodwill": str(r.goodwill_amount), "payment_method": r.payment_method,
        "created_at": _when(r.created_at),
    } for r, order_id in refunds]


def scrub_member_returns(member: Member, placeholder: str) -> None:
    """Erasure hook: what was written about the member on their returns and refunds is wiped:
    the member's own text, staff's reason for a rejection, a refund's note, and the note
    carried in a refund's `how` (which becomes the payment method's generic words, such as
    "80.00 transferred back to the customer's account"). The returns themselves, their
    copies and the refunds' amounts stay for the accounts."""
    db.session.execute(
        sa.update(ReturnRequest)
        .where(ReturnRequest.member_id == member.id, ReturnRequest.details.is_not(None))
        .values(details=ERASED_TEXT).execution_options(synchronize_session=False))
    db.session.execute(
        sa.update(ReturnRequest)
        .where(ReturnRequest.member_id == member.id, ReturnRequest.reject_reason.is_not(None))
        .values(reject_reason=ERASED_TEXT).execution_options(synchronize_session=False))
    refunds = db.session.scalars(
        sa.select(Refund).join(Order, Order.id == Refund.order_id)
        .where(Order.member_id == member.id))
    for refund in refunds:
        method = payment.METHODS.get(refund.payment_method)
        words = getattr(method, "refund_how", None) or "refunded"
        refund.how = f"{payment.money_text(refund.amount)} {words}"[:200]
        if refund.note is not None:
            refund.note = ERASED_TEXT
