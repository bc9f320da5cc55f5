"""The member's mails about a return and a refund: asked for, approved, rejected (with the
reason), refunded. Each is queued in the outbox in the transaction that made the step (sent only
if it commits), in the member's language (`app.mail.rendering.mail_locale`), once per step
(deduplicated by the step's key)."""

from __future__ import annotations

from flask import current_app

from app.core.urls import external_url
from app.mail.outbox import enqueue
from app.ordering.models import Order
from app.returns.models import Refund, ReturnRequest


def _context(order: Order) -> dict:
    return {
        "name": order.member.name,
        "order_number": order.number,
        "order_url": external_url("cart.order_detail", order_id=order.id),
        "shop_name": current_app.config["SHOP_NAME"],
    }


def _send(kind: str, request: ReturnRequest, **context: object) -> None:
    order = request.order
    enqueue(kind=kind, to_email=order.member.email, template=kind,
            context={**_context(order), "return_number": request.number,
                     "lines": [(line.order_line.title, line.quantity) for line in request.lines],
                     **context},
            member_id=order.member_id, dedupe_key=f"{kind}:{request.id}")


def requested(request: ReturnRequest) -> None:
    _send("return_requested", request)


def approved(request: ReturnRequest) -> None:
    _send("return_approved", request)


def rejected(request: ReturnRequest) -> None:
    _send("return_rejected", request, reason=request.reject_reason)


def refunded(refund: Refund, order: Order) -> None:
    enqueue(kind="refund_issued", to_email=order.member.email, template="refund_issued",
            context={**_context(order), "amount": refund.amount,
                     "refunded": order.refunded, "total": order.total},
            member_id=order.member_id, dedupe_key=f"refund_issued:{refund.id}", new_key=True)
