"""The after-sale kinds of the customer's story (app.crm.timeline): returns asked for, refunds
paid, and service cases opened. Returns and support sit below the CRM, so their kinds are
registered here, by the CRM's init_app, like the other features' (`register_default_sources`).
"""

from __future__ import annotations

import sqlalchemy as sa

from app.core.i18n import lazy_gettext as _l
from app.crm.timeline import TimelineSource, columns, register_timeline_source


def register() -> None:
    from flask import url_for

    from app.ordering.models import Order
    from app.returns.models import Refund, ReturnRequest
    from app.returns.requests import reason_label, status_label
    from app.support.labels import STATUS_LABELS
    from app.support.models import SupportCase

    def return_row(ref_id, title, detail):
        order_id = int(title) if title and title.isdigit() else None
        shown = Order.number_for(order_id) if order_id else ""
        reason, _, status = (detail or "").partition("|")
        words = [str(status_label(status)) if status else "", str(reason_label(reason))
                 if reason else ""]
        return shown, " · ".join(w for w in words if w) or None

    def case_row(_ref_id, title, detail):
        return title or "", str(STATUS_LABELS.get(detail, detail)) if detail else None

    sources = [
        TimelineSource("return", "after", _l("Return asked for"), lambda m: sa.select(*columns(
            ReturnRequest.created_at, ReturnRequest.id,
            sa.cast(ReturnRequest.order_id, sa.String),
            sa.cast(ReturnRequest.reason, sa.String) + "|"
            + sa.cast(ReturnRequest.status, sa.String)))
            .where(ReturnRequest.member_id == m),
            link=lambda return_id: url_for("admin.return_detail", return_id=return_id),
            describe=return_row),
        TimelineSource("refund", "after", _l("Refund"), lambda m: sa.select(*columns(
            Refund.created_at, Refund.order_id, sa.null(), Refund.how, Refund.amount))
            .join(Order, Order.id == Refund.order_id).where(Order.member_id == m),
            link=lambda order_id: url_for("admin.order_detail", order_id=order_id),
            describe=lambda ref, _t, how: (Order.number_for(ref), how)),
        TimelineSource("case", "after", _l("Service case"), lambda m: sa.select(*columns(
            SupportCase.created_at, SupportCase.id, SupportCase.subject, SupportCase.status))
            .where(SupportCase.member_id == m),
            link=lambda case_id: url_for("admin.case_detail", case_id=case_id),
            describe=case_row),
    ]
    for source in sources:
        register_timeline_source(source)
