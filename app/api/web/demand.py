"""Demand for staff: open demand per book, and requests for books the shop does not carry
(customers:read or any other staff scope)."""

from __future__ import annotations

from app.api.web import ApiBlueprint
from app.api.web import schemas as s
from app.api.web.paging import envelope
from app.core.paging import CountedPage
from app.demand import reports, uncatalogued

PATH = "/demand"
blp = ApiBlueprint("api_demand", __name__, description="Demand (staff scopes)")
STAFF_SCOPES = ("customers:read", "customers:write", "orders:read", "orders:write",
                "stock:write")


@blp.route("/books")
@blp.scoped(*STAFF_SCOPES)
@blp.etag
@blp.arguments(s.DemandQuery, location="query", as_kwargs=True)
@blp.response(200, s.BookDemandPage)
def by_book(page, per_page, only_out, sort, q=None):
    """Open demand per book: readers waiting, copies wanted, stock and copies to buy."""
    result = reports.demand_by_book(q=(q or "").strip() or None, only_out=only_out, sort=sort,
                                    page=page, per_page=per_page)
    return envelope(result, [{
        "book_id": d.book_id, "title": d.title, "authors": d.authors, "isbn13": d.isbn13,
        "stock": d.stock, "waiting": d.waiting, "quantity": d.quantity,
        "suggested": d.suggested, "oldest": d.oldest, "newest": d.newest,
    } for d in result.items])


@blp.route("/requests")
@blp.scoped(*STAFF_SCOPES)
@blp.etag
@blp.arguments(s.PageArgs, location="query", as_kwargs=True)
@blp.response(200, s.RequestGroupPage)
def requests(page, per_page):
    """Open requests for books not in the catalog, grouped by ISBN (else title), most asked
    first."""
    groups = uncatalogued.uncatalogued_groups()
    start = (page - 1) * per_page
    chosen = CountedPage(groups[start:start + per_page], len(groups), page, per_page)
    return envelope(chosen, [{
        "key": g.key, "isbn": g.isbn, "title": g.title, "author": g.author,
        "readers": g.readers, "quantity": g.quantity, "oldest": g.oldest,
    } for g in chosen.items])
