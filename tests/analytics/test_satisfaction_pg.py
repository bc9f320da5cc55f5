"""The feedback recompute on PostgreSQL (months with to_char/EXTRACT there, strftime on
SQLite; the association rows read straight from the DBAPI cursor)."""

from __future__ import annotations

import pytest

from app.analytics import associations, recommendations, satisfaction
from app.core.extensions import db
from app.models import SurveyResponse
from tests.analytics.test_associations import _paid
from tests.analytics.test_satisfaction import _order, at
from tests.factories import make_book, make_member


def test_associations_loyalty_and_nps_on_postgresql(pg_app):
    with pg_app.app_context():
        a, b = make_book(title="A"), make_book(title="B")
        for _ in range(2):
            _paid(make_member(), [a, b])
        m1, m2 = make_member(), make_member()
        _order(m1, at(2026, 1, 10))
        _order(m1, at(2026, 2, 10))
        _order(m2, at(2026, 1, 20))
        m3 = make_member()
        order = _paid(m3, [make_book()])
        db.session.add(SurveyResponse(member_id=m3.id, order_id=order.id, score=10,
                                      created_at=at(2026, 2, 3), updated_at=at(2026, 2, 3)))
        db.session.commit()

        report = associations.compute()
        loyalty = satisfaction.compute_loyalty(at(2026, 3, 15))
        sat = satisfaction.compute_satisfaction()
        db.session.commit()

        assert report.rules == 2
        assert [shown.book_id for shown in associations.compute_also_bought_shown(a.id)] == [b.id]
        jan = next(c for c in loyalty["cohorts"] if c["month"] == "2026-01")
        assert jan["size"] == 2 and jan["retention"][:3] == [100.0, 50.0, 0.0]
        assert loyalty["avg_days_between"] == pytest.approx(31.0)
        assert sat["months"][0]["month"] == "2026-02" and sat["overall"]["nps"] == 100.0
        assert recommendations.for_members([m3.id], limit=1)[m3.id]
