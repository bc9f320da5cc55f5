"""One definition of a reader waiting (issue 19, Demand.is_waiting): an open demand from a member
or from a visitor who confirmed the address. An unconfirmed visitor entry counts nowhere: not on
the demand page, the dashboard, the low-stock list or the reorder forecast (before, all but the
demand page counted it)."""

from __future__ import annotations

import re

from app.analytics import forecast
from app.core.db import utcnow
from app.core.extensions import db
from app.crm import stats
from app.demand import reports
from app.demand.models import Demand, DemandStatus
from tests.factories import make_admin, make_book, make_demand, make_member
from tests.pages import log_in


def _waiting_book():
    """A book out of stock with one member, one confirmed visitor and one unconfirmed visitor
    asking for it."""
    book = make_book(title="Waiting Room", stock_on_hand=0)
    make_demand(member=make_member(), book=book)
    make_demand(book=book, email="confirmed@example.test", confirmed_at=utcnow())
    make_demand(book=book, email="unconfirmed@example.test")
    db.session.commit()
    return book


def test_is_waiting_is_the_same_rule_in_python_and_in_sql(ctx):
    book = _waiting_book()

    demands = db.session.query(Demand).filter(Demand.book_id == book.id).all()
    in_python = sorted(d.id for d in demands if d.is_waiting)
    in_sql = sorted(db.session.scalars(
        db.select(Demand.id).where(Demand.book_id == book.id, Demand.is_waiting)))

    assert len(in_python) == 2 and in_python == in_sql
    assert not Demand(status=DemandStatus.CANCELLED, member_id=1).is_waiting


def test_the_dashboard_counts_the_readers_the_demand_page_counts(ctx):
    book = _waiting_book()

    [row] = [r for r in reports.demand_by_book().items if r.book_id == book.id]
    assert row.waiting == 2
    assert stats.demand_counts() == (2, 1)
    [ranked] = stats.top_demanded()
    assert (ranked.book_id, ranked.count) == (book.id, 2)


def test_the_reorder_forecast_counts_only_readers_waiting(ctx):
    book = _waiting_book()

    [row] = [r for r in forecast.compute()["rows"] if r["book_id"] == book.id]

    assert row["waiting"] == 2


def test_the_low_stock_list_counts_only_readers_waiting(app, client):
    with app.app_context():
        make_admin(email="boss@example.test")
        book_id = _waiting_book().id
    log_in(client, "boss@example.test")

    page = client.get("/admin/books/low-stock?threshold=0").get_data(as_text=True)

    row = re.search(rf'href="/admin/books/{book_id}/edit".*?</tr>', page, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row)[-1] == "2"
