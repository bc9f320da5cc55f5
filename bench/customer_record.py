"""Bench: the customer record of a busy customer (500 orders, 2,000+ timeline events).

    .venv/bin/python bench/customer_record.py [--runs 30] [--database-url URL]

In process, through Flask's test client on a throw-away SQLite file (or --database-url): one
staff member, one customer with 500 orders (300 paid, 200 of them delivered), 500 mails, 400
notes and calls, 100 demands and 10 grade changes: 2,010 events on their timeline. It times
`GET /admin/customers/<id>` (the record opening on its story) and the story filtered to one
phase, and prints the median of each in milliseconds (the target: under 300 ms on SQLite).
Not a test: figures only (issue 21; tests/crm/test_timeline.py counts the statements).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "a long enough password 1"


def _config(url: str):
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        PAGE_CACHE_SECONDS = 0
        FRONT_DOOR = False

    return BenchConfig


def _seed(db) -> int:
    """The busy customer; returns their id."""
    import sqlalchemy as sa

    from app.core.db import utcnow
    from app.membership import members
    from app.models import (
        Book,
        Demand,
        DemandStatus,
        GradeChange,
        GradeReason,
        Interaction,
        Member,
        Order,
        OrderStatus,
        OutboxMail,
        Role,
    )

    staff = members.create_member("staff@example.test", PASSWORD, "Sam Staff")
    staff.role = Role.STAFF
    customer = members.create_member("busy@example.test", PASSWORD, "Busy Customer")
    db.session.add(Book(title="Dune", authors="Frank Herbert", price=Decimal("42.00"),
                        stock_on_hand=0, year=1965, search_text="dune frank herbert"))
    db.session.flush()
    book_id = db.session.scalar(sa.select(Book.id))
    start = utcnow() - timedelta(days=900)
    orders = []
    for n in range(500):
        at = start + timedelta(days=n * 1.7)
        paid = n < 300
        orders.append({
            "member_id": customer.id, "email": customer.email, "payment_method": "cod",
            "ship_name": "Busy Customer", "ship_line1": "1 Road", "ship_city": "City",
            "ship_postcode": "1", "ship_country": "Land", "subtotal": Decimal("42.00"),
            "discount_total": Decimal("0.00"), "shipping_fee": Decimal("0.00"),
            "total": Decimal("42.00"), "tier_code": "regular", "discount_rate": Decimal("0"),
            "status": (OrderStatus.DELIVERED if n < 200 else OrderStatus.PAID if paid
                       else OrderStatus.PLACED),
            "placed_at": at, "paid_at": at + timedelta(hours=2) if paid else None,
            "delivered_at": at + timedelta(days=3) if n < 200 else None,
        })
    db.session.execute(sa.insert(Order), orders)
    db.session.execute(sa.insert(OutboxMail), [
        {"kind": "x", "to_email": customer.email, "member_id": customer.id,
         "subject": f"Mail {n}", "body_text": "b", "message_id": f"<{n}@bench>",
         "created_at": start + timedelta(days=n * 1.7, hours=1)} for n in range(500)])
    db.session.execute(sa.insert(Interaction), [
        {"member_id": customer.id, "staff_id": staff.id,
         "kind": "phone" if n % 2 else "email", "body": f"Note {n}",
         "created_at": start + timedelta(days=n * 2.1)} for n in range(400)])
    db.session.execute(sa.insert(Demand), [
        {"member_id": customer.id, "book_id": book_id, "quantity": 1,
         "status": DemandStatus.FULFILLED, "created_at": start + timedelta(days=n * 8)}
        for n in range(100)])
    db.session.execute(sa.insert(GradeChange), [
        {"member_id": customer.id, "from_code": "regular", "from_name": "Regular",
         "to_code": "silver", "to_name": "Silver", "reason": GradeReason.ORDER_PAID,
         "at": start + timedelta(days=n * 80)} for n in range(10)])
    db.session.commit()
    return db.session.scalar(sa.select(Member.id).where(Member.email == "busy@example.test"))


def _median_ms(client, path: str, runs: int) -> float:
    client.get(path)  # warm caches (templates, the sidebar)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from app import create_app
    from app.core.extensions import db
    from app.crm import timeline

    tmp = Path(tempfile.mkdtemp(prefix="bench-record-"))
    app = create_app(_config(args.database_url or f"sqlite:///{tmp / 'record.db'}"))
    with app.app_context():
        upgrade()
        member_id = _seed(db)
        events = timeline.timeline(member_id).total
    client = app.test_client()
    response = client.post("/account/login", data={"email": "staff@example.test",
                                                    "password": PASSWORD})
    assert response.status_code == 302, "the staff member could not log in"
    print(f"customer {member_id}: 500 orders, {events} timeline events")
    for label, path in (("record", f"/admin/customers/{member_id}"),
                        ("record, story 'during'", f"/admin/customers/{member_id}?phase=during"),
                        ("record, story page 20", f"/admin/customers/{member_id}?tpage=20")):
        print(f"{label:26} median {_median_ms(client, path, args.runs):7.1f} ms "
              f"({args.runs} runs)")


if __name__ == "__main__":
    main()
