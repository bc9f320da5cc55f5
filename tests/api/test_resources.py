"""The resources do what the shop's pages do, through the same services: the catalog's
search and filters, the member's own demand list, cart, grade and orders, the staff's orders
(status changes with the same events and audit as the admin), demand and customers."""

from __future__ import annotations

import sqlalchemy as sa

from app.catalog.models import Book
from app.core.audit.models import AuditEntry
from app.core.extensions import db
from app.core.signals import order_status_changed
from app.demand.models import Demand, DemandStatus
from app.membership.models import Member
from app.ordering.models import Order, OrderStatus
from tests.api.conftest import bearer
from tests.factories import make_book, make_category, make_demand, make_placed_order


def _books(app) -> dict:
    with app.app_context():
        sf = make_category(slug="sf", name="Science fiction")
        dune = make_book(title="Dune", authors="Frank Herbert", category=sf, stock_on_hand=2)
        out = make_book(title="Dune Messiah", authors="Frank Herbert", category=sf,
                        stock_on_hand=0)
        emma = make_book(title="Emma", authors="Jane Austen", stock_on_hand=1)
        db.session.commit()
        return {"dune": dune.id, "out": out.id, "emma": emma.id}


def test_books_are_searched_filtered_and_paged(app, client):
    ids = _books(app)

    found = client.get("/api/v1/books?q=dune").json
    in_stock = client.get("/api/v1/books?q=dune&in_stock=true").json
    sf = client.get("/api/v1/books?category=sf&per_page=1").json
    everything = client.get("/api/v1/books").json

    assert {b["id"] for b in found["items"]} == {ids["dune"], ids["out"]}
    assert [b["id"] for b in in_stock["items"]] == [ids["dune"]]
    assert (sf["total"], sf["pages"], len(sf["items"])) == (2, 2, 1)
    assert everything["total"] == 3
    assert client.get("/api/v1/books?category=nope").status_code == 404


def test_a_member_adds_and_cancels_a_demand_through_the_demand_services(app, client, people):
    ids = _books(app)
    headers = bearer(people["rosa"])

    added = client.post("/api/v1/me/demands", json={"book_id": ids["out"], "quantity": 2},
                        headers=headers)
    in_stock = client.post("/api/v1/me/demands", json={"book_id": ids["dune"]},
                           headers=headers)
    listed = client.get("/api/v1/me/demands", headers=headers).json
    cancelled = client.delete(f"/api/v1/me/demands/{added.json['id']}", headers=headers)
    again = client.delete(f"/api/v1/me/demands/{added.json['id']}", headers=headers)
    others = client.delete(f"/api/v1/me/demands/{added.json['id']}",
                           headers=bearer(people["otto"]))

    assert added.status_code == 201 and added.json["status"] == "open"
    assert in_stock.status_code == 409  # the rule: a book in stock is bought, not awaited
    assert [d["id"] for d in listed["items"]] == [added.json["id"]]
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert again.status_code == 409
    assert others.status_code == 404
    with app.app_context():
        demand = db.session.get(Demand, added.json["id"])
        assert demand.status is DemandStatus.CANCELLED and demand.open_key is None


def test_a_member_reads_and_changes_the_cart_and_reads_the_grade(app, client, people):
    ids = _books(app)
    headers = bearer(people["rosa"])

    added = client.post("/api/v1/me/cart/items", json={"book_id": ids["dune"], "quantity": 2},
                        headers=headers)
    too_many = client.put(f"/api/v1/me/cart/items/{ids['dune']}", json={"quantity": 5},
                          headers=headers)
    lowered = client.put(f"/api/v1/me/cart/items/{ids['dune']}", json={"quantity": 1},
                         headers=headers)
    grade = client.get("/api/v1/me/grade", headers=headers)

    assert added.status_code == 200 and added.json["count"] == 2
    assert added.json["subtotal"] == "84.00"
    assert too_many.status_code == 422  # more than the shelf holds
    assert lowered.json["count"] == 1
    assert client.get("/api/v1/me/cart", headers=headers).json["count"] == 1
    assert grade.status_code == 200 and grade.json["current"]["code"] == "regular"
    # the grade's name in English and in every language that has one (issue 22)
    assert grade.json["current"]["name"] == "Regular"
    assert grade.json["current"]["names"] == {"en": "Regular", "zh_Hans": "普通"}
    assert grade.json["next"]["names"] == {"en": "Silver", "zh_Hans": "银卡"}


def test_staff_change_an_order_status_with_the_admins_events_and_audit(app, client, people):
    with app.app_context():
        order_id = make_placed_order().id
        db.session.commit()
    seen = []

    def receiver(order, **extra):
        seen.append((order.id, extra["previous"], extra["actor"].id))

    order_status_changed.connect(receiver)
    try:
        response = client.post(f"/api/v1/orders/{order_id}/status",
                               json={"status": "paid", "note": "bank transfer seen"},
                               headers=bearer(people["orders_write"]))
    finally:
        order_status_changed.disconnect(receiver)

    assert response.status_code == 200 and response.json["status"] == "paid"
    assert [e["to_status"] for e in response.json["events"]][-1] == "paid"
    assert seen == [(order_id, OrderStatus.PLACED, people["ids"]["clerk"])]
    with app.app_context():
        assert db.session.get(Order, order_id).status is OrderStatus.PAID
        actions = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.actor_id == people["ids"]["clerk"])).all()
        assert {"order.status", "api.call"} <= set(actions)
    read_only = client.post(f"/api/v1/orders/{order_id}/status", json={"status": "shipped"},
                            headers=bearer(people["orders_read"]))
    assert read_only.status_code == 403


def test_staff_list_and_filter_orders(app, client, people):
    with app.app_context():
        make_placed_order()
        make_placed_order(status=OrderStatus.PAID)
        db.session.commit()
    headers = bearer(people["orders_read"])

    assert client.get("/api/v1/orders", headers=headers).json["total"] == 2
    paid = client.get("/api/v1/orders?status=paid", headers=headers).json
    assert [o["status"] for o in paid["items"]] == ["paid"]


def test_staff_read_demand_per_book_and_uncatalogued_requests(app, client, people):
    ids = _books(app)
    with app.app_context():
        make_demand(member=db.session.get(Member, people["ids"]["otto"]),
                    book=db.session.get(Book, ids["out"]))
        db.session.add(Demand(member_id=people["ids"]["rosa"], requested_title="Lost Book",
                              title_key="lost book", quantity=1, status=DemandStatus.OPEN))
        db.session.commit()

    books = client.get("/api/v1/demand/books", headers=bearer(people["stock"])).json
    requests = client.get("/api/v1/demand/requests",
                          headers=bearer(people["customers_read"])).json

    assert [(b["book_id"], b["waiting"]) for b in books["items"]] == [(ids["out"], 1)]
    assert [r["title"] for r in requests["items"]] == ["Lost Book"]
    assert client.get("/api/v1/demand/books", headers=bearer(people["rosa"])).status_code == 403


def test_staff_search_customers_and_tag_and_note_them(app, client, people):
    rosa_id = people["ids"]["rosa"]
    write = bearer(people["customers_write"])

    found = client.get("/api/v1/customers?q=rosa", headers=bearer(people["customers_read"]))
    tagged = client.post(f"/api/v1/customers/{rosa_id}/tags", json={"name": "Teacher"},
                         headers=write)
    noted = client.post(f"/api/v1/customers/{rosa_id}/notes",
                        json={"kind": "phone", "body": "Asked about Dune"}, headers=write)
    record = client.get(f"/api/v1/customers/{rosa_id}", headers=write).json
    untagged = client.delete(f"/api/v1/customers/{rosa_id}/tags/{tagged.json['id']}",
                             headers=write)
    read_only = client.post(f"/api/v1/customers/{rosa_id}/tags", json={"name": "x"},
                            headers=bearer(people["customers_read"]))

    assert [c["id"] for c in found.json["items"]] == [rosa_id]
    assert tagged.status_code == 200 and noted.status_code == 201
    assert [t["name"] for t in record["tags"]] == ["Teacher"]
    assert [n["body"] for n in record["notes"]] == ["Asked about Dune"]
    assert untagged.status_code == 200
    assert read_only.status_code == 403
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.actor_id == people["ids"]["boss"])).all()
        assert {"customer.tag", "customer.interaction", "customer.untag"} <= set(actions)
        assert actions.count("api.call") == 3
