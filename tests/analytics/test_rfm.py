"""RFM scoring and the segment grid (pure functions, hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.analytics import segments as seg
from app.analytics.rfm import Orders, quintile_scores, rfm_at


def test_quintile_scores_of_distinct_values_are_the_quintiles():
    assert quintile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_tied_values_share_the_score_of_the_first_of_them():
    # percent rank = worse values / (n - 1): 1 -> 0 -> 1; 2 -> 2/3 -> 1 + 3 = 4; 3 -> 1 -> 5
    assert quintile_scores(np.array([3, 1, 2, 1])).tolist() == [5, 1, 4, 1]


def test_the_lowest_value_scores_1_however_many_share_it():
    assert quintile_scores(np.array([1] * 60 + [2] * 30 + [9] * 10)).tolist() == (
        [1] * 60 + [4] * 30 + [5] * 10)  # 2: 60 / 99 -> 1 + 3; 9: 90 / 99 -> 1 + 4


def test_a_single_buyer_scores_1():
    assert quintile_scores(np.array([42])).tolist() == [1]


def test_no_values_no_scores():
    assert quintile_scores(np.array([])).tolist() == []


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=60),
       st.randoms(use_true_random=False))
def test_scores_do_not_depend_on_the_order_of_the_rows(values, rnd):
    shuffled = values[:]
    rnd.shuffle(shuffled)
    by_value = dict(zip(values, quintile_scores(np.array(values)).tolist(), strict=True))
    again = dict(zip(shuffled, quintile_scores(np.array(shuffled)).tolist(), strict=True))
    assert by_value == again
    assert all(1 <= score <= 5 for score in by_value.values())
    # a larger value never scores lower
    ordered = [by_value[v] for v in sorted(by_value)]
    assert ordered == sorted(ordered)


@pytest.mark.parametrize(("r", "f", "m", "expected"), [
    (5, 5, 5, seg.CHAMPIONS), (5, 4, 3, seg.CHAMPIONS), (5, 1, 1, seg.NEW),
    (5, 2, 3, seg.POTENTIAL), (4, 1, 1, seg.PROMISING), (4, 5, 4, seg.LOYAL),
    (3, 3, 3, seg.NEEDS_ATTENTION), (3, 1, 2, seg.ABOUT_TO_SLEEP), (3, 4, 4, seg.LOYAL),
    (2, 3, 4, seg.AT_RISK), (1, 5, 5, seg.CANT_LOSE), (2, 1, 2, seg.HIBERNATING),
    (1, 1, 1, seg.LOST), (1, 2, 1, seg.HIBERNATING),
])
def test_the_segment_grid(r, f, m, expected):
    assert seg.segment_for(r, f, m) == expected


def test_every_named_segment_is_reachable_and_every_cell_has_one():
    cells = {seg.segment_for(r, f, m)
             for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert cells == set(seg.RFM_SEGMENTS)


DAY = 1000.0  # any fixed day scale


def test_rfm_of_a_known_history():
    # member 0: 3 orders of 100 (5 days ago last); 1: one of 50 (14 days ago);
    # 2: two of 500 (349 days ago); 3: one of 20 (530 days ago); 4: nothing.
    orders = Orders(
        member=np.array([0, 0, 0, 1, 2, 2, 3]),
        day=np.array([DAY - 5.5, DAY - 45, DAY - 106, DAY - 14.5, DAY - 380, DAY - 349.5,
                      DAY - 530.5]),
        cents=np.array([10000, 10000, 10000, 5000, 50000, 50000, 2000]),
    )
    rfm = rfm_at(orders, 5, DAY)

    assert rfm.frequency.tolist() == [3, 1, 2, 1, 0]
    assert rfm.monetary_cents.tolist() == [30000, 5000, 100000, 2000, 0]
    assert rfm.recency_days.tolist() == [5, 14, 349, 530, -1]
    # percent ranks over 4 buyers: 0, 1/3, 2/3, 1 -> scores 1, 2, 4, 5
    assert rfm.r.tolist() == [5, 4, 2, 1, 0]
    assert rfm.f.tolist() == [5, 1, 4, 1, 0]  # 1 order (twice): 1; 2 orders: 2/3 -> 4
    assert rfm.m.tolist() == [4, 2, 5, 1, 0]
    assert [seg.STATES[i] for i in rfm.state] == [
        seg.CHAMPIONS, seg.POTENTIAL, seg.CANT_LOSE, seg.LOST, seg.PROSPECT]


def test_orders_at_or_after_the_moment_do_not_count_and_late_joiners_are_not_members_yet():
    orders = Orders(member=np.array([0]), day=np.array([DAY]), cents=np.array([100]))
    rfm = rfm_at(orders, 3, DAY, joined_day=np.array([DAY - 10, DAY - 1, DAY + 1]))

    assert rfm.frequency.tolist() == [0, 0, 0]
    assert [seg.STATES[i] for i in rfm.state] == [seg.PROSPECT, seg.PROSPECT, seg.NOT_JOINED]


def test_no_members_at_all():
    empty = Orders(np.array([], dtype=np.int64), np.array([]), np.array([], dtype=np.int64))
    assert rfm_at(empty, 0, DAY).state.tolist() == []
