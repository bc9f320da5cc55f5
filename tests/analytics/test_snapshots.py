"""The recompute on a small known history: segments, monthly history, transitions, the
campaign and customer-record helpers, and bad input (empty shop, cancelled-only members)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa

from app.analytics import markov, reports, snapshots
from app.analytics import segments as seg
from app.analytics.rfm import Orders
from app.analytics.snapshots import member_summary
from app.core.extensions import db
from app.models import AnalyticsRun, MemberSnapshot, OrderStatus, SegmentSummary
from tests.factories import make_member, make_placed_order, make_staff

NOW = datetime(2026, 6, 15, tzinfo=UTC)
JOINED = datetime(2024, 1, 1, tzinfo=UTC)


def _noon(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


def _order(member, when: datetime, total: str, status=OrderStatus.PAID):
    return make_placed_order(member, status=status, placed_at=when, total=Decimal(total))


@pytest.fixture
def app_config():
    return {"ANALYTICS_HISTORY_MONTHS": 3}


@pytest.fixture
def shop(ctx) -> dict[str, int]:
    return build_shop()


def build_shop() -> dict[str, int]:
    """A: 3 orders, B: 1 recent, C: 2 big and old, D: 1 small and older, E: cancelled only,
    F: nothing, G: joined in May, nothing, H: first order in May; a staff member's order and
    unpaid orders are left out."""
    people = {name: make_member(name=name, joined_at=JOINED) for name in "ABCDEFH"}
    people["G"] = make_member(name="G", joined_at=datetime(2026, 5, 15, tzinfo=UTC))
    a, b, c, d, e = (people[k] for k in "ABCDE")
    _order(a, _noon(2026, 3, 1), "100.00")
    _order(a, _noon(2026, 5, 1), "100.00")
    _order(a, _noon(2026, 6, 10), "100.00")
    _order(b, _noon(2026, 6, 1), "50.00")
    _order(c, _noon(2025, 6, 1), "500.00")
    _order(c, _noon(2025, 7, 1), "500.00")
    _order(d, _noon(2025, 1, 1), "20.00")
    _order(people["H"], _noon(2026, 5, 20), "60.00")
    _order(e, _noon(2026, 6, 1), "80.00", status=OrderStatus.CANCELLED)
    _order(b, _noon(2026, 6, 14), "70.00", status=OrderStatus.PLACED)  # unpaid: not counted
    _order(make_staff(), _noon(2026, 6, 1), "999.00")
    db.session.commit()
    return {name: m.id for name, m in people.items()}


def _snapshots(run_id: int) -> dict[int, MemberSnapshot]:
    rows = db.session.scalars(sa.select(MemberSnapshot).where(MemberSnapshot.run_id == run_id))
    return {row.member_id: row for row in rows}


def test_recompute_scores_and_segments_a_known_history(shop):
    run = snapshots.recompute(now=NOW)
    db.session.commit()
    rows = _snapshots(run.id)

    assert run.status == "done" and run.members == 8 and run.buyers == 5
    by_name = {name: rows[member_id] for name, member_id in shop.items()}
    # 5 buyers: percent ranks 0, 1/4, 1/2, 3/4, 1 -> scores 1, 2, 3, 4, 5
    # recency A 4 < B 13 < H 25 < C 348 < D 529 days; orders A 3, C 2, others 1;
    # spend D 20 < B 50 < H 60 < A 300 < C 1000
    assert {n: (by_name[n].r_score, by_name[n].f_score, by_name[n].m_score)
            for n in "ABCDH"} == {
        "A": (5, 5, 4), "B": (4, 1, 2), "H": (3, 1, 3), "C": (2, 4, 5), "D": (1, 1, 1)}
    assert {n: by_name[n].segment for n in shop} == {
        "A": seg.CHAMPIONS, "B": seg.POTENTIAL, "H": seg.ABOUT_TO_SLEEP, "C": seg.CANT_LOSE,
        "D": seg.LOST, "E": seg.PROSPECT, "F": seg.PROSPECT, "G": seg.PROSPECT}
    assert by_name["A"].frequency == 3 and by_name["A"].monetary == Decimal("300.00")
    assert by_name["A"].recency_days == 4  # 4.5 days: whole days
    assert by_name["E"].frequency == 0 and by_name["E"].r_score is None


def test_monthly_history_and_transitions_by_hand(shop):
    run = snapshots.recompute(now=NOW)
    db.session.commit()

    months, table = snapshots_month_table(run)
    assert months == [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    # April and May (buyers A, C, D): A R5 F1 M3 potential loyalist, C R3 F5 M5 loyal,
    # D R1 F1 M1 lost; B, E, F, H have not bought yet; G has not joined yet
    assert table[date(2026, 4, 1)] == table[date(2026, 5, 1)] == {
        seg.POTENTIAL: 1, seg.LOYAL: 1, seg.LOST: 1, seg.PROSPECT: 4, seg.NOT_JOINED: 1}
    # June 1st (buyers D, C, A, H by recency): A R4 F4 M4 loyal, C R2 F4 M5 can't lose,
    # D lost, H R5 F1 M2 potential loyalist; G joined -> no purchase yet
    assert table[date(2026, 6, 1)] == {
        seg.LOYAL: 1, seg.CANT_LOSE: 1, seg.LOST: 1, seg.POTENTIAL: 1, seg.PROSPECT: 4}

    chain, months_used = snapshots.chain_for(run)
    assert months_used == 2
    row = dict(zip(chain.states, range(len(chain.states)), strict=True))
    # April -> May everyone stays; May -> June: A potential -> loyal, C loyal -> can't lose,
    # H no purchase -> potential, G not joined -> no purchase
    assert chain.matrix[row[seg.POTENTIAL], row[seg.POTENTIAL]] == 0.5
    assert chain.matrix[row[seg.POTENTIAL], row[seg.LOYAL]] == 0.5
    assert chain.matrix[row[seg.LOYAL], row[seg.LOYAL]] == 0.5
    assert chain.matrix[row[seg.LOYAL], row[seg.CANT_LOSE]] == 0.5
    assert chain.matrix[row[seg.LOST], row[seg.LOST]] == 1.0
    assert chain.matrix[row[seg.PROSPECT], row[seg.PROSPECT]] == 7 / 8
    assert chain.matrix[row[seg.PROSPECT], row[seg.POTENTIAL]] == 1 / 8
    assert chain.matrix[row[seg.NEW], row[seg.NEW]] == 1.0  # nobody observed: stays
    assert chain.observed[row[seg.PROSPECT]] == 8
    assert chain.entry[row[seg.PROSPECT]] == 1.0 and chain.inflow == 0.5

    # Projection from today's sizes, one month, by hand: today A champion, B potential,
    # H about to sleep, C can't lose, D lost, E F G no purchase (3)
    (month1,) = markov.project(chain, reports.current_sizes(run), 1)
    assert month1[seg.POTENTIAL] == pytest.approx(0.5 + 3 / 8)
    assert month1[seg.LOYAL] == pytest.approx(0.5)
    assert month1[seg.PROSPECT] == pytest.approx(3 * 7 / 8 + 0.5)
    assert month1[seg.CHAMPIONS] == 1.0  # nobody was observed leaving: stays
    assert np.allclose(chain.matrix.sum(axis=1), 1.0)


def snapshots_month_table(run):
    from app.models import SegmentMonth

    table: dict[date, dict[str, int]] = {}
    for row in db.session.scalars(sa.select(SegmentMonth).where(SegmentMonth.run_id == run.id)):
        table.setdefault(row.month, {})[row.segment] = row.members
    return sorted(table), table


def test_campaign_and_customer_record_helpers_read_the_latest_snapshot(shop):
    assert member_summary(shop["A"]) is None
    assert db.session.execute(seg.members_in_segment(seg.CHAMPIONS)).all() == []

    snapshots.recompute(now=NOW)
    db.session.commit()

    assert set(db.session.scalars(seg.members_in_segment(seg.PROSPECT))) == {
        shop["E"], shop["F"], shop["G"]}
    assert db.session.scalars(seg.members_in_segment(seg.NEW)).all() == []
    assert db.session.scalars(seg.members_in_segment("no-such-segment")).all() == []
    assert seg.segment_of([shop["A"], shop["C"], 999_999]) == {
        shop["A"]: seg.CHAMPIONS, shop["C"]: seg.CANT_LOSE}
    summary = member_summary(shop["A"])
    assert summary.segment == seg.CHAMPIONS and summary.segment_label == "Champions"
    assert (summary.r_score, summary.f_score, summary.m_score) == (5, 5, 4)
    assert summary.as_of == NOW
    assert summary.clv is None  # four buyers are too few to fit a lifetime model


def test_a_new_run_replaces_the_member_rows_of_the_old_one(shop):
    first = snapshots.recompute(now=NOW)
    db.session.commit()
    second = snapshots.recompute(now=datetime(2026, 6, 20, tzinfo=UTC))
    db.session.commit()

    run_ids = set(db.session.scalars(sa.select(MemberSnapshot.run_id)))
    assert run_ids == {second.id}
    assert db.session.get(AnalyticsRun, first.id).status == "done"
    assert member_summary(shop["A"]).as_of == datetime(2026, 6, 20, tzinfo=UTC)


def test_an_empty_shop_gives_an_empty_snapshot(ctx):
    run = snapshots.recompute(now=NOW)
    db.session.commit()

    assert run.status == "done" and run.members == 0 and run.buyers == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MemberSnapshot)) == 0
    assert run.model["skipped"] == "too few buyers"


def test_clv_and_at_risk_on_a_larger_history(ctx, app_config):
    """Forty buyers: the model fits; probabilities are probabilities; a big spender who stopped
    buying weekly a month ago is flagged at risk."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        member = make_member(joined_at=JOINED)
        start = int(rng.integers(0, 300))
        for k in range(int(rng.integers(1, 6))):
            day = start + k * int(rng.integers(5, 60))
            if day < 520:
                when = datetime.fromtimestamp(JOINED.timestamp() + day * 86400 + 43200, UTC)
                _order(member, when, f"{int(rng.integers(20, 90))}.00")
    regular = make_member(name="Weekly Wanda", joined_at=JOINED)
    for week in range(20):  # weekly until five weeks before NOW
        when = datetime.fromtimestamp(NOW.timestamp() - (5 + week) * 7 * 86400, UTC)
        _order(regular, when, "300.00")
    db.session.commit()

    run = snapshots.recompute(now=NOW)
    db.session.commit()
    rows = _snapshots(run.id)

    assert run.model["bgnbd"] is not None and run.model["gamma_gamma"] is not None
    buyers = [r for r in rows.values() if r.frequency]
    repeat = [r for r in buyers if r.repeat_transactions]
    once = [r for r in buyers if not r.repeat_transactions]
    assert repeat and once
    assert all(0.0 <= r.p_alive <= 1.0 for r in repeat)
    # the model would say 100 % for every one-time buyer: they get no probability instead
    assert all(r.p_alive is None and r.p_alive_prev is None and r.one_purchase for r in once)
    assert all(r.clv is not None and r.clv >= 0 for r in buyers)
    wanda = rows[regular.id]
    assert wanda.m_score == 5 and wanda.p_alive < wanda.p_alive_prev
    assert wanda.at_risk
    equity = db.session.scalar(sa.select(sa.func.sum(SegmentSummary.clv)).where(
        SegmentSummary.run_id == run.id, SegmentSummary.dimension == "segment"))
    tiers = db.session.scalar(sa.select(sa.func.sum(SegmentSummary.clv)).where(
        SegmentSummary.run_id == run.id, SegmentSummary.dimension == "tier"))
    assert equity == tiers == sum(r.clv for r in buyers)


def test_the_customer_list_filters_by_the_latest_segment(shop):
    from app.crm import customers

    run = snapshots.recompute(now=NOW)
    db.session.commit()
    rows = _snapshots(run.id)
    segment = rows[shop["A"]].segment
    expected = sorted(m for m, row in rows.items() if row.segment == segment)

    found = customers.list_customers(customers.CustomerFilters(segment=segment, sort="name"))
    nobody = customers.list_customers(customers.CustomerFilters(segment="no-such-segment"))

    assert sorted(m.id for m in found.items) == expected and shop["A"] in expected
    assert nobody.total == 0


def test_the_typical_reorder_time_is_the_median_days_from_first_to_second_purchase():
    # member 0: days 10, 12 (same-day orders are one purchase day), 40 -> 30 days to the second
    # member 1: days 5, 25 -> 20; member 2: one purchase day; member 3: days 1, 11, 12 -> 10
    orders = Orders(member=np.array([0, 0, 0, 0, 1, 1, 2, 3, 3, 3]),
                    day=np.array([10.6, 10.9, 40.6, 99.6, 5.6, 25.6, 7.6, 1.6, 11.6, 12.6]),
                    cents=np.ones(10, dtype=np.int64))

    assert snapshots.typical_reorder_days(orders, at_day=50.0) == 20.0
    assert snapshots.typical_reorder_days(orders, at_day=6.0) is None


def test_a_valuable_one_time_buyer_past_the_typical_reorder_time_is_at_risk(ctx):
    """Ten members came back 10 to 28 days after their first purchase (median 19). Of the
    one-time buyers, only the biggest spender whose purchase passed 19 days during the last
    month is flagged: not the one still within 19 days, not the one long gone, not the small
    spenders (spend is ranked among one-time buyers: one order rarely matches the spend of
    members who come back)."""
    for k in range(10):
        member = make_member(joined_at=JOINED)
        first = datetime.fromtimestamp(NOW.timestamp() - (200 + 7 * k) * 86400, UTC)
        _order(member, first, f"{2000 + 10 * k}.00")
        _order(member, datetime.fromtimestamp(first.timestamp() + (10 + 2 * k) * 86400, UTC),
               "10.00")

    def once(name: str, days_ago: int, total: str):
        member = make_member(name=name, joined_at=JOINED)
        _order(member, datetime.fromtimestamp(NOW.timestamp() - days_ago * 86400, UTC), total)
        return member.id

    olga = once("Overdue Olga", 35, "1200.00")
    fay = once("Fresh Fay", 10, "1000.00")
    larry = once("Long-gone Larry", 400, "950.00")
    mo = once("Modest Mo", 30, "40.00")
    sam = once("Small Sam", 35, "5.00")
    db.session.commit()

    run = snapshots.recompute(now=NOW)
    db.session.commit()
    rows = _snapshots(run.id)

    assert run.model["reorder_days"] == 19.0   # gaps 10, 12, ..., 28: median of 18 and 20
    assert rows[olga].m_score < 4   # the buyers' quintiles would never have flagged her
    assert rows[olga].at_risk
    assert not any(rows[m].at_risk for m in (fay, larry, mo, sam))
    flagged = [snap.member_id for snap, _member in reports.overview(run, 10).at_risk]
    assert flagged == [olga]
