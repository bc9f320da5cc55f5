"""The token owner's own: profile, orders, demand list, grade and progress, cart (scope `me`).

Each call goes through the same services as the member's pages; a member's token reaches only
that member's records (an order of anyone else is a 404, as on the orders page)."""

from __future__ import annotations

from app.admin.common import ID
from app.api.auth import current_owner
from app.api.web import ApiBlueprint
from app.api.web import schemas as s
from app.api.web.orders import order_detail_out, order_out
from app.api.web.paging import envelope
from app.catalog.models import Book
from app.core.extensions import db
from app.demand import lists as demand_lists
from app.grades.reading import member_standing
from app.ordering import cart, checkout
from app.ordering import orders as order_rules

PATH = "/me"
blp = ApiBlueprint("api_me", __name__, description="The token owner's own records (scope me)")


@blp.route("")
@blp.scoped("me")
@blp.etag
@blp.response(200, s.ProfileSchema)
def profile():
    """The token owner's profile."""
    member = current_owner()
    return {"member_no": member.member_no, "name": member.name, "email": member.email,
            "phone": member.phone, "joined_at": member.joined_at, "grade": member.tier_code,
            "locale": getattr(member, "locale", None)}


@blp.route("/orders")
@blp.scoped("me")
@blp.etag
@blp.arguments(s.MyOrderQuery, location="query", as_kwargs=True)
@blp.response(200, s.OrderPage)
def my_orders(page):
    """The token owner's orders, newest first."""
    result = order_rules.orders_for_member(current_owner(), page)
    return envelope(result, [order_out(o) for o in result.items])


@blp.route(f"/orders/<{ID}:order_id>")
@blp.scoped("me")
@blp.etag
@blp.response(200, s.OrderDetailSchema)
def my_order(order_id):
    """One of the token owner's orders (anyone else's is a 404)."""
    return order_detail_out(order_rules.order_for_member(current_owner(), order_id))


def _demand_out(line) -> dict:
    demand = line.demand
    return {"id": demand.id, "book_id": demand.book_id,
            "title": demand.book.title if demand.book is not None else demand.requested_title,
            "quantity": demand.quantity, "note": demand.note, "status": demand.status.value,
            "created_at": demand.created_at, "held": line.held, "hold_until": line.hold_until}


@blp.route("/demands")
@blp.scoped("me")
@blp.etag
@blp.arguments(s.PageArgs, location="query", as_kwargs=True)
@blp.response(200, s.MyDemandPage)
def my_demands(page, per_page):
    """The token owner's demand list, newest first, with the copies held for them."""
    result = demand_lists.demands_for_member(current_owner(), page=page, per_page=per_page)
    return envelope(result, [_demand_out(line) for line in result.items])


@blp.route("/demands", methods=["POST"])
@blp.scoped("me")
@blp.arguments(s.DemandIn, as_kwargs=True)
@blp.response(201, s.MyDemandSchema)
def add_demand(book_id, quantity, note=None):
    """Ask to be told when an out-of-stock book arrives (asking again updates the request)."""
    member = current_owner()
    demand = demand_lists.record_demand(member, db.session.get(Book, book_id), quantity, note)
    db.session.flush()
    return _demand_out(demand_lists.DemandLine(demand, 0, None, None))


@blp.route(f"/demands/<{ID}:demand_id>", methods=["DELETE"])
@blp.scoped("me")
@blp.response(200, s.MyDemandSchema)
def cancel_demand(demand_id):
    """Withdraw a request; copies held for it pass to the next reader."""
    demand = demand_lists.cancel_demand(current_owner(), demand_id)
    return _demand_out(demand_lists.DemandLine(demand, 0, None, None))


@blp.route("/grade")
@blp.scoped("me")
@blp.etag
@blp.response(200, s.GradeSchema)
def grade():
    """The token owner's grade, spend and the way to the next grade."""
    standing = member_standing(current_owner())

    def rule(r):
        return None if r is None else {"code": r.code, "name": r.name,
                                       "names": {"en": r.name, **dict(r.names)},
                                       "min_spend": r.min_spend,
                                       "discount_rate": r.discount_rate}

    return {"current": rule(standing.current), "earned": rule(standing.earned),
            "next": rule(standing.next), "spend": standing.spend, "needed": standing.needed,
            "progress_percent": standing.progress_percent}


def _cart_out(member) -> dict:
    view = cart.lines(member, {}, discount_rate=checkout.member_discount_rate(member))
    quote = view.quote
    return {
        "items": [{"book_id": item.book.id, "title": item.book.title,
                   "quantity": item.quantity, "unit_price": item.book.price,
                   "line_total": item.line_total, "problem": item.problem}
                  for item in view.items],
        "count": view.count, "subtotal": quote.subtotal, "discount_rate": quote.discount_rate,
        "discount": quote.discount, "shipping": quote.shipping, "total": quote.total,
    }


@blp.route("/cart")
@blp.scoped("me")
@blp.etag
@blp.response(200, s.CartSchema)
def get_cart():
    """The token owner's cart, priced as at checkout today."""
    return _cart_out(current_owner())


@blp.route("/cart/items", methods=["POST"])
@blp.scoped("me")
@blp.arguments(s.CartAdd, as_kwargs=True)
@blp.response(200, s.CartSchema)
def add_to_cart(book_id, quantity):
    """Add copies of a book to the cart (as the book page's button does)."""
    member = current_owner()
    cart.add(member, {}, book_id, quantity)
    return _cart_out(member)


@blp.route(f"/cart/items/<{ID}:book_id>", methods=["PUT"])
@blp.scoped("me")
@blp.arguments(s.CartSet, as_kwargs=True)
@blp.response(200, s.CartSchema)
def set_cart_quantity(book_id, quantity):
    """Set a line's quantity; 0 takes the book out of the cart."""
    member = current_owner()
    cart.set_quantity(member, {}, book_id, quantity)
    return _cart_out(member)
