"""The recompute: order history in, snapshot tables out (classification and CLV).

`recompute()` reads every member and every counting order (paid, shipped or delivered; by the
time it was placed) once, computes in numpy, and writes one `AnalyticsRun` with its member rows
and aggregates; pages read only those (`latest_run()`, `member_summary()`, ...). Steps:

1. load: members (role member) and counting orders;
2. rfm: scores and segments as of now (app.analytics.rfm, segments);
3. history: the segments at the start of each of the last ANALYTICS_HISTORY_MONTHS months,
   rebuilt from the order history (so a new shop, the demo and the large seed have a history at
   once), their sizes and the month-to-month transitions (app.analytics.markov);
4. clv: BG/NBD + Gamma-Gamma fitted on every buyer (app.analytics.clv); probability
   of being active now and one month ago; expected purchases, spend and discounted CLV over
   ANALYTICS_CLV_HORIZON_MONTHS at ANALYTICS_DISCOUNT_RATE a year;
5. write: the rows, then the run is marked done and older runs' member rows are deleted.

Probability of being active: from the BG/NBD model, for members with at least two purchase
days. A one-time buyer gets none (stored NULL, shown as "one purchase - not enough history"):
the model's convention gives every one-time buyer 100 %, which says nothing.

At risk (`at_risk_mask`):
- a repeat buyer with a monetary score of 4 or 5 (the top two spend quintiles among buyers)
  whose probability of being active fell by at least ANALYTICS_AT_RISK_DROP since a month
  before (both from the same fitted model, both from repeat histories);
- a one-time buyer in the top two spend quintiles AMONG ONE-TIME BUYERS (one order rarely
  reaches the spend of members who come back, so the buyers' quintiles would never pick one)
  whose purchase became older than the shop's typical reorder time during the last
  AT_RISK_WINDOW_DAYS days: no second order when most returning buyers would have placed it.
  The typical reorder time (`typical_reorder_days`) is the median, over members with two or
  more purchase days, of the days from their first purchase to their second; it is kept in the
  run's model as "reorder_days" (no one-time buyer is flagged while nobody has reordered).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from app.analytics import markov
from app.analytics import segments as seg
from app.analytics.models import (
    AnalyticsRun,
    MemberSnapshot,
    RunStatus,
    SegmentMonth,
    SegmentSummary,
    SegmentTransition,
)
from app.analytics.rfm import Orders, quintile_scores, rfm_at
from app.core.audit import record as audit
from app.core.db import utcnow
from app.core.extensions import db
from app.core.lazy import numpy as np
from app.core.money import from_cents
from app.membership.models import Member
from app.ordering.models import Order

UNIX_EPOCH_JD = 2440587.5
AT_RISK_WINDOW_DAYS = 30  # both at-risk rules look at the last month
CHUNK = 5000

DEFAULTS = {
    "ANALYTICS_HISTORY_MONTHS": 24,  # monthly snapshots rebuilt per run
    "ANALYTICS_MARKOV_MONTHS": 12,  # transitions used to estimate the chain
    "ANALYTICS_PROJECTION_MONTHS": 6,
    "ANALYTICS_CLV_HORIZON_MONTHS": 12,
    "ANALYTICS_DISCOUNT_RATE": 0.10,  # a year
    "ANALYTICS_AT_RISK_DROP": 0.10,
    "ANALYTICS_CLV_MIN_BUYERS": 20,  # fewer buyers than this: no CLV model
    "ANALYTICS_INLINE_MAX_MEMBERS": 20_000,  # the admin button runs at once up to this size
}


def setting(key: str):
    value = current_app.config.get(key)
    return DEFAULTS[key] if value is None else value


def julian(moment: datetime) -> float:
    return moment.timestamp() / 86400.0 + UNIX_EPOCH_JD


def _julian_sql(column: sa.ColumnElement) -> sa.ColumnElement[float]:
    if db.engine.dialect.name == "sqlite":
        return sa.func.julianday(column)
    return sa.extract("epoch", column) / 86400.0 + UNIX_EPOCH_JD


def month_starts(now: datetime, count: int) -> list[date]:
    """The first days of the last `count` months, oldest first, the current month last."""
    year, month = now.year, now.month
    out = []
    for _ in range(count):
        out.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --------------------------------------------------------------------------- load


@dataclass
class History:
    member_ids: np.ndarray
    joined_day: np.ndarray
    tier_codes: list[str]
    orders: Orders


def load_history() -> History:
    members = db.session.execute(
        sa.select(Member.id, _julian_sql(Member.joined_at), Member.tier_code)
        .where(Member.is_customer).order_by(Member.id)
    ).all()
    ids = np.fromiter((row[0] for row in members), dtype=np.int64, count=len(members))
    joined = np.fromiter((row[1] for row in members), dtype=np.float64, count=len(members))
    tiers = [row[2] for row in members]
    rows = db.session.execute(
        sa.select(Order.member_id, _julian_sql(Order.placed_at),
                  Order.revenue_cents())
        .where(Order.is_paid)
    ).all()
    member = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    day = np.fromiter((row[1] for row in rows), dtype=np.float64, count=len(rows))
    cents = np.fromiter((row[2] for row in rows), dtype=np.int64, count=len(rows))
    position = np.searchsorted(ids, member)
    position = np.minimum(position, max(len(ids) - 1, 0))
    known = (ids[position] == member) if len(ids) else np.zeros(len(member), dtype=bool)
    orders = Orders(position[known], day[known], cents[known])
    return History(ids, joined, tiers, orders)


# --------------------------------------------------------------------------- history


@dataclass
class MonthlyHistory:
    months: list[date]
    sizes: dict[date, dict[str, tuple[int, int]]]  # month -> segment -> (members, cents)
    transitions: dict[date, dict[tuple[str, str], int]]  # to-month -> (from, to) -> members


def monthly_history(history: History, months: list[date]) -> MonthlyHistory:
    n = len(history.member_ids)
    states = seg.STATES
    sizes: dict[date, dict[str, tuple[int, int]]] = {}
    transitions: dict[date, dict[tuple[str, str], int]] = {}
    previous = None
    for month in months:
        result = rfm_at(history.orders, n, julian(_at(month)), history.joined_day)
        counts = np.bincount(result.state, minlength=len(states))
        money = np.bincount(result.state, weights=result.monetary_cents, minlength=len(states))
        sizes[month] = {code: (int(counts[i]), int(round(money[i])))
                        for i, code in enumerate(states) if counts[i]}
        if previous is not None:
            pairs = np.bincount(previous.astype(np.int64) * len(states) + result.state,
                                minlength=len(states) ** 2)
            transitions[month] = {
                (states[k // len(states)], states[k % len(states)]): int(pairs[k])
                for k in np.flatnonzero(pairs)
            }
        previous = result.state
    return MonthlyHistory(months, sizes, transitions)


# --------------------------------------------------------------------------- CLV inputs


@dataclass
class Transactions:
    """BG/NBD inputs per member (weeks): x repeat transactions, t_x, T, mean repeat value."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    mean_value: np.ndarray
    buyers: np.ndarray


def transactions_at(orders: Orders, n: int, at_day: float) -> Transactions:
    """Orders before `at_day`, one transaction per member and calendar day (UTC)."""
    before = orders.day < at_day
    member = orders.member[before]
    day = np.floor(orders.day[before] - 0.5).astype(np.int64)  # the calendar day (JD - .5)
    cents = orders.cents[before]
    key = member * 10_000_000 + day
    uniq, inverse = np.unique(key, return_inverse=True)
    value = np.bincount(inverse, weights=cents, minlength=uniq.size)
    t_member = uniq // 10_000_000
    t_day = uniq % 10_000_000
    count = np.bincount(t_member, minlength=n)
    buyers = count > 0
    first = np.full(n, np.inf)
    np.minimum.at(first, t_member, t_day)
    last = np.full(n, -np.inf)
    np.maximum.at(last, t_member, t_day)
    first_value = np.zeros(n)
    is_first = t_day == first[t_member]
    first_value[t_member[is_first]] = value[is_first]
    total = np.bincount(t_member, weights=value, minlength=n)
    x = np.maximum(count - 1, 0).astype(np.float64)
    at_calendar_day = np.floor(at_day - 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_x = np.where(buyers, (last - first) / 7.0, 0.0)
        T = np.where(buyers, (at_calendar_day - first) / 7.0, 0.0)
        mean_value = np.where(x > 0, (total - first_value) / np.maximum(x, 1) / 100.0, 0.0)
    return Transactions(x, t_x, T, mean_value, buyers)


def typical_reorder_days(orders: Orders, at_day: float) -> float | None:
    """The median days from a member's first purchase day to their second, over members with
    two or more purchase days before `at_day`; None when nobody has one."""
    before = orders.day < at_day
    day = np.floor(orders.day[before] - 0.5).astype(np.int64)
    pairs = np.unique(np.column_stack((orders.member[before], day)), axis=0)
    if len(pairs) < 2:
        return None
    member, days = pairs[:, 0], pairs[:, 1]
    starts = np.flatnonzero(np.r_[True, member[1:] != member[:-1]])  # each member's first row
    second = starts + 1
    has_second = second < len(member)
    has_second[has_second] &= member[second[has_second]] == member[starts[has_second]]
    if not has_second.any():
        return None
    gaps = days[second[has_second]] - days[starts[has_second]]
    return float(np.median(gaps))


# --------------------------------------------------------------------------- recompute


def request_recompute(actor: Member | None = None) -> AnalyticsRun:
    """Queue a recompute (one queued at a time); `run_queued()` or the command runs it.
    A request by `actor` (a member of staff) is audited, also when one was already queued."""
    run = db.session.scalar(
        sa.select(AnalyticsRun).where(AnalyticsRun.status == RunStatus.QUEUED).limit(1))
    if run is None:
        run = AnalyticsRun(status=RunStatus.QUEUED, requested_by_id=actor.id if actor else None)
        db.session.add(run)
        db.session.flush()
    if actor is not None:
        audit.record(actor.id, actor.email, "analytics.recompute_queued", run,
                     summary="queued an analytics recompute")
    return run


def queued_run() -> AnalyticsRun | None:
    return db.session.scalar(
        sa.select(AnalyticsRun).where(AnalyticsRun.status == RunStatus.QUEUED)
        .order_by(AnalyticsRun.id).limit(1))


def member_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Member.is_customer)) or 0


_MEMBER_TABLE = sa.table(
    "analytics_member",
    *(sa.column(name) for name in (
        "run_id", "member_id", "tier_code", "segment", "recency_days", "frequency",
        "monetary", "r_score", "f_score", "m_score", "repeat_transactions", "p_alive",
        "p_alive_prev", "expected_purchases", "expected_spend", "clv", "at_risk")),
)


def _cents_or_none(values: np.ndarray, ok: np.ndarray) -> list[int | None]:
    cents = np.round(np.nan_to_num(values) * 100).astype(np.int64).tolist()
    return [c if flag else None for c, flag in zip(cents, ok.tolist(), strict=True)]


def _floats_or_none(values: np.ndarray, ok: np.ndarray) -> list[float | None]:
    return [v if flag else None
            for v, flag in zip(np.nan_to_num(values).tolist(), ok.tolist(), strict=True)]


def recompute(now: datetime | None = None, run: AnalyticsRun | None = None,
              actor: Member | None = None) -> AnalyticsRun:
    """Compute every snapshot as of `now` into a new (or the given queued) run; flushes only.

    The caller commits (the command, or the request's unit of work). A recompute asked for by
    `actor` (a member of staff) is audited. Returns the finished run.
    """
    now = now or utcnow()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        moment = time.perf_counter()
        timings[step] = round(moment - clock, 3)
        clock = moment

    if run is None:
        run = AnalyticsRun(requested_by_id=actor.id if actor else None)
        db.session.add(run)
    run.status = RunStatus.RUNNING
    run.started_at = utcnow()
    run.as_of = now
    db.session.flush()

    history = load_history()
    n = len(history.member_ids)
    lap("load")

    now_day = julian(now)
    current = rfm_at(history.orders, n, now_day)
    lap("rfm")

    months = month_starts(now, int(setting("ANALYTICS_HISTORY_MONTHS")))
    monthly = monthly_history(history, months)
    lap("history")

    model, values = _lifetime_values(history, n, now_day)
    model["reorder_days"] = typical_reorder_days(history.orders, now_day)
    lap("clv")

    _write(run, history, current, monthly, values, model["reorder_days"])
    lap("write")

    run.members = n
    run.buyers = int(current.buyers.sum())
    run.model = model
    run.status = RunStatus.DONE
    run.finished_at = utcnow()
    db.session.flush()
    # Older runs give up their member rows (a run that finished meanwhile with a later as_of
    # keeps its own: the pages read the run with the latest as_of).
    older = sa.select(AnalyticsRun.id).where(AnalyticsRun.id != run.id,
                                             AnalyticsRun.as_of <= run.as_of)
    db.session.execute(sa.delete(MemberSnapshot).where(MemberSnapshot.run_id.in_(older)))
    timings["prune"] = round(time.perf_counter() - clock, 3)
    timings["total"] = round(sum(timings.values()), 3)
    run.timings = dict(timings)
    db.session.flush()
    if actor is not None:
        audit.record(actor.id, actor.email, "analytics.recompute", run,
                     summary=f"recomputed analytics for {run.members} members")
    return run


@dataclass
class Values:
    p_alive: np.ndarray
    p_alive_prev: np.ndarray
    prev_ok: np.ndarray  # repeat buyers a month ago (a probability then)
    alive_ok: np.ndarray  # repeat buyers now (a probability now)
    expected: np.ndarray
    spend: np.ndarray
    clv: np.ndarray
    ok: np.ndarray  # members with model values
    x: np.ndarray


def _lifetime_values(history: History, n: int, now_day: float) -> tuple[dict, Values]:
    # scipy is imported here, not at start-up: web processes only read the snapshots
    from app.analytics import clv as clv_model

    tx = transactions_at(history.orders, n, now_day)
    months = int(setting("ANALYTICS_CLV_HORIZON_MONTHS"))
    discount = float(setting("ANALYTICS_DISCOUNT_RATE"))
    model: dict = {"horizon_months": months, "discount_rate": discount,
                   "bgnbd": None, "gamma_gamma": None}
    empty = np.full(n, np.nan)
    nothing = Values(empty, empty, np.zeros(n, bool), np.zeros(n, bool), empty, empty, empty,
                     np.zeros(n, bool), tx.x)
    buyers = tx.buyers
    if buyers.sum() < int(setting("ANALYTICS_CLV_MIN_BUYERS")) or (tx.x > 0).sum() < 2:
        model["skipped"] = "too few buyers"
        return model, nothing
    bg = clv_model.fit_bgnbd(tx.x[buyers], tx.t_x[buyers], tx.T[buyers])
    gg = clv_model.fit_gamma_gamma(tx.x[buyers], tx.mean_value[buyers])
    model["bgnbd"] = bg.as_dict()
    model["gamma_gamma"] = gg.as_dict()
    if not (bg.a > 0 and gg.q > 1 and np.isfinite(gg.population_mean)):
        model["skipped"] = "model did not fit"
        return model, nothing
    repeat = buyers & (tx.x > 0)  # one-time buyers get no probability (module docstring)
    p_alive = np.full(n, np.nan)
    p_alive[repeat] = clv_model.p_alive(bg, tx.x[repeat], tx.t_x[repeat], tx.T[repeat])
    value = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    value[buyers], expected[buyers] = clv_model.clv(
        bg, gg, tx.x[buyers], tx.t_x[buyers], tx.T[buyers], tx.mean_value[buyers],
        months=months, annual_discount=discount)
    spend = np.full(n, np.nan)
    spend[buyers] = clv_model.expected_spend(gg, tx.x[buyers], tx.mean_value[buyers])
    prev = transactions_at(history.orders, n, now_day - 30.0)
    prev_p = np.full(n, np.nan)
    pb = prev.buyers & (prev.x > 0)
    prev_p[pb] = clv_model.p_alive(bg, prev.x[pb], prev.t_x[pb], prev.T[pb])
    return model, Values(p_alive, prev_p, pb, repeat, expected, spend, value, buyers, tx.x)


def at_risk_mask(current, values: Values, reorder_days: float | None) -> np.ndarray:
    """The two at-risk rules of the module docstring, for every member."""
    drop = float(setting("ANALYTICS_AT_RISK_DROP"))
    valuable = current.buyers & (current.m >= 4)
    with np.errstate(invalid="ignore"):
        slipping = (values.alive_ok & values.prev_ok & valuable
                    & (values.p_alive_prev - values.p_alive >= drop))
    if reorder_days is None:
        return slipping
    once = current.buyers & (values.x == 0)
    once_m = np.zeros(once.size, dtype=np.int8)
    once_m[once] = quintile_scores(current.monetary_cents[once])
    recency = np.asarray(current.recency_days, dtype=float)
    overdue = (once & (once_m >= 4) & (recency > reorder_days)
               & (recency <= reorder_days + AT_RISK_WINDOW_DAYS))
    return slipping | overdue


def _write(run: AnalyticsRun, history: History, current, monthly: MonthlyHistory,
           values: Values, reorder_days: float | None = None) -> None:
    n = len(history.member_ids)
    states = seg.STATES
    segment_codes = [states[i] for i in current.state.tolist()]
    buyers = current.buyers
    at_risk = at_risk_mask(current, values, reorder_days)
    buyer_list = buyers.tolist()
    columns = {
        "member_id": history.member_ids.tolist(),
        "tier_code": history.tier_codes,
        "segment": segment_codes,
        "recency_days": [v if b else None
                         for v, b in zip(current.recency_days.tolist(), buyer_list, strict=True)],
        "frequency": current.frequency.tolist(),
        "monetary": current.monetary_cents.tolist(),
        "r_score": [v if b else None for v, b in zip(current.r.tolist(), buyer_list, strict=True)],
        "f_score": [v if b else None for v, b in zip(current.f.tolist(), buyer_list, strict=True)],
        "m_score": [v if b else None for v, b in zip(current.m.tolist(), buyer_list, strict=True)],
        "repeat_transactions": values.x.astype(np.int64).tolist(),
        "p_alive": _floats_or_none(values.p_alive, values.alive_ok),
        "p_alive_prev": _floats_or_none(values.p_alive_prev, values.prev_ok & values.ok),
        "expected_purchases": _floats_or_none(values.expected, values.ok),
        "expected_spend": _cents_or_none(values.spend, values.ok),
        "clv": _cents_or_none(values.clv, values.ok),
        "at_risk": at_risk.tolist(),
    }
    names = list(columns)
    rows = [dict(zip(names, row, strict=True), run_id=run.id)
            for row in zip(*columns.values(), strict=True)]
    for start in range(0, n, CHUNK):
        db.session.execute(sa.insert(_MEMBER_TABLE), rows[start:start + CHUNK])

    month_rows = [
        {"run_id": run.id, "month": month, "segment": code, "members": count,
         "monetary": from_cents(cents)}
        for month, by_segment in monthly.sizes.items()
        for code, (count, cents) in by_segment.items()
    ]
    if month_rows:
        db.session.execute(sa.insert(SegmentMonth), month_rows)
    transition_rows = [
        {"run_id": run.id, "month": month, "from_segment": src, "to_segment": dst,
         "members": count}
        for month, pairs in monthly.transitions.items()
        for (src, dst), count in pairs.items()
    ]
    if transition_rows:
        db.session.execute(sa.insert(SegmentTransition), transition_rows)

    summary_rows = []
    clv_cents = np.round(np.nan_to_num(values.clv) * 100).astype(np.int64)
    p = values.p_alive
    for dimension, keys in (("segment", segment_codes), ("tier", history.tier_codes)):
        key_array = np.array(keys, dtype=object)
        for key in sorted(set(keys)):
            mask = key_array == key
            with_p = mask & values.alive_ok  # the average is over repeat buyers
            summary_rows.append({
                "run_id": run.id, "dimension": dimension, "key": key,
                "members": int(mask.sum()),
                "monetary": from_cents(int(current.monetary_cents[mask].sum())),
                "clv": from_cents(int(clv_cents[mask].sum())),
                "p_alive_avg": float(p[with_p].mean()) if with_p.any() else None,
                "at_risk": int(at_risk[mask].sum()),
            })
    if summary_rows:
        db.session.execute(sa.insert(SegmentSummary), summary_rows)


def run_queued() -> AnalyticsRun | None:
    """Run the oldest queued recompute, if any, and commit it (for the command and the hook)."""
    run = queued_run()
    if run is None:
        return None
    try:
        recompute(run=run)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        failed = db.session.get(AnalyticsRun, run.id)
        if failed is not None:
            failed.status = RunStatus.FAILED
            failed.finished_at = utcnow()
            failed.error = str(error)[:500]
            db.session.commit()
        raise
    return run


# --------------------------------------------------------------------------- reading


def latest_run() -> AnalyticsRun | None:
    return db.session.scalar(
        sa.select(AnalyticsRun).where(AnalyticsRun.status == RunStatus.DONE)
        .order_by(AnalyticsRun.as_of.desc(), AnalyticsRun.id.desc()).limit(1))


@dataclass(frozen=True)
class MemberAnalytics:
    """One member in the latest snapshot (for the customer record and list filter)."""

    member_id: int
    segment: str
    segment_label: str
    recency_days: int | None
    frequency: int
    monetary: Decimal
    r_score: int | None
    f_score: int | None
    m_score: int | None
    p_alive: float | None
    p_alive_prev: float | None
    expected_purchases: float | None
    clv: Decimal | None
    at_risk: bool
    as_of: datetime
    repeat_transactions: int = 0

    @property
    def one_purchase(self) -> bool:
        """A buyer on one day only: no probability of being active (module docstring)."""
        return self.frequency > 0 and self.repeat_transactions == 0


def member_summary(member_id: int) -> MemberAnalytics | None:
    """The member's segment, RFM scores, CLV and probability of being active, or None when
    there is no finished snapshot or the member is not in it (staff, joined since)."""
    row = db.session.execute(
        sa.select(MemberSnapshot, AnalyticsRun.as_of)
        .join(AnalyticsRun, AnalyticsRun.id == MemberSnapshot.run_id)
        .where(MemberSnapshot.run_id == seg.latest_run_id_select(),
               MemberSnapshot.member_id == member_id)
    ).first()
    if row is None:
        return None
    snap, as_of = row
    return MemberAnalytics(
        member_id=snap.member_id, segment=snap.segment, segment_label=seg.label(snap.segment),
        recency_days=snap.recency_days, frequency=snap.frequency, monetary=snap.monetary,
        r_score=snap.r_score, f_score=snap.f_score, m_score=snap.m_score,
        p_alive=snap.p_alive, p_alive_prev=snap.p_alive_prev,
        expected_purchases=snap.expected_purchases, clv=snap.clv, at_risk=snap.at_risk,
        as_of=as_of, repeat_transactions=snap.repeat_transactions,
    )


def chain_for(run: AnalyticsRun) -> tuple[markov.Chain, int]:
    """The Markov chain of a run from its last ANALYTICS_MARKOV_MONTHS transitions."""
    wanted = int(setting("ANALYTICS_MARKOV_MONTHS"))
    months = db.session.scalars(
        sa.select(SegmentTransition.month).where(SegmentTransition.run_id == run.id)
        .distinct().order_by(SegmentTransition.month.desc()).limit(wanted)).all()
    counts: dict[tuple[str, str], int] = {}
    if months:
        for src, dst, count in db.session.execute(
            sa.select(SegmentTransition.from_segment, SegmentTransition.to_segment,
                      sa.func.sum(SegmentTransition.members))
            .where(SegmentTransition.run_id == run.id, SegmentTransition.month.in_(months))
            .group_by(SegmentTransition.from_segment, SegmentTransition.to_segment)
        ):
            counts[(src, dst)] = int(count)
    return markov.estimate(counts, len(months)), len(months)


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)
