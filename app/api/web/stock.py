"""Stock receipts (stock:write): recorded exactly as the admin's stock form records them
(app.demand.stock.receive_stock: holds for waiting readers, arrival mails through the outbox,
the audit entry under the token's owner), idempotent by the `Idempotency-Key` header."""

from __future__ import annotations

from flask import current_app, g

from app.api import idempotency
from app.api.auth import current_owner
from app.api.web import ApiBlueprint
from app.api.web import schemas as s
from app.catalog.web.views import forget_catalog
from app.core.unit_of_work import after_commit
from app.demand import stock as stock_service

PATH = "/stock"
blp = ApiBlueprint("api_stock", __name__, description="Stock arrivals (staff scope stock:write)")


@blp.route("/receipts", methods=["POST"])
@blp.scoped("stock:write")
@blp.arguments(s.IdempotencyHeader, location="headers", as_kwargs=True)
@blp.arguments(s.ReceiptIn, as_kwargs=True)
@blp.response(201, s.ReceiptOut)
@blp.alt_response(200, schema=s.ReceiptOut,
                  description="The first answer again: a retry with the same Idempotency-Key "
                              "recorded nothing")
def receive(idempotency_key, book, quantity, supplier=None, reference=None, note=None):
    """Record copies received of a book (by id or ISBN): waiting readers get their copies
    held and are mailed, the rest goes on the shelf. Send an `Idempotency-Key`: a retry with
    the same key answers as the first call did (status 200) and records nothing."""
    owner = current_owner()
    payload = {"book": book, "quantity": quantity, "supplier": supplier,
               "reference": reference, "note": note}
    row, new = idempotency.claim(owner, idempotency_key, "stock.receive",
                                 idempotency.fingerprint("stock.receive", payload))
    if not new:
        g.api_replayed = True
        _status, body = idempotency.answer(row)
        return _json(body, 200)
    found = stock_service.find_book(book)
    result = stock_service.receive_stock(found.id, quantity, supplier, reference, note,
                                         actor=owner)
    receipt = result.receipt
    body = s.ReceiptOut().dump({
        "id": receipt.id, "book_id": receipt.book_id, "quantity": receipt.quantity,
        "supplier": receipt.supplier, "reference": receipt.reference, "note": receipt.note,
        "received_at": receipt.received_at, "held": result.held, "shelved": result.shelved,
        "notified": result.notified, "mails": result.mails, "unserved": result.unserved})
    idempotency.keep(row, 201, body)
    after_commit(forget_catalog)
    return _json(body, 201)


def _json(body: dict, status: int):
    """An answer already in its JSON shape (kept for a retry): sent as it is."""
    response = current_app.json.response(body)
    response.status_code = status
    return response
