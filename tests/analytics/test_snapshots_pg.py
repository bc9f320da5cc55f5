"""The recompute on PostgreSQL (dates read with EXTRACT(EPOCH) there, julianday on SQLite)."""

from __future__ import annotations

import pytest

from app.analytics import segments as seg
from app.analytics import snapshots
from app.analytics.snapshots import member_summary
from app.core.extensions import db
from tests.analytics import test_snapshots as known


@pytest.fixture
def app_config():
    return {"ANALYTICS_HISTORY_MONTHS": 3}


def test_the_known_history_gives_the_same_segments_on_postgresql(pg_app):
    with pg_app.app_context():
        shop = known.build_shop()
        run = snapshots.recompute(now=known.NOW)
        db.session.commit()

        assert run.members == 8 and run.buyers == 5
        assert seg.segment_of(shop.values()) == {
            shop["A"]: seg.CHAMPIONS, shop["B"]: seg.POTENTIAL, shop["H"]: seg.ABOUT_TO_SLEEP,
            shop["C"]: seg.CANT_LOSE, shop["D"]: seg.LOST, shop["E"]: seg.PROSPECT,
            shop["F"]: seg.PROSPECT, shop["G"]: seg.PROSPECT}
        assert member_summary(shop["A"]).recency_days == 4
        months, table = known.snapshots_month_table(run)
        assert table[months[-1]] == {seg.LOYAL: 1, seg.CANT_LOSE: 1, seg.LOST: 1,
                                     seg.POTENTIAL: 1, seg.PROSPECT: 4}
