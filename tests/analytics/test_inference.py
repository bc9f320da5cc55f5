"""Intervals for a treated group against a hold-out (app.analytics.inference): checked
against Newcombe's published table, against scipy's Welch test, and by simulation: with no
real effect the 95 % interval covers zero in about 95 % of seeded runs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from app.analytics import inference

# Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score, no
# continuity correction): the paper's eight examples, to its four decimals.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombes_interval_matches_the_published_examples(counts, expected):
    k1, n1, k2, n2 = counts
    interval = inference.newcombe_difference(k1, n1, k2, n2)

    assert interval.estimate == pytest.approx(k1 / n1 - k2 / n2)
    assert (round(interval.low, 4), round(interval.high, 4)) == expected


def test_the_first_example_is_a_difference_of_0_2_that_excludes_zero():
    interval = inference.newcombe_difference(56, 70, 48, 80)

    assert interval.estimate == pytest.approx(0.2)
    assert not interval.includes_zero


def test_welchs_interval_agrees_with_scipys_welch_test():
    rng = np.random.default_rng(3)
    a = rng.exponential(20.0, 400) * (rng.random(400) < 0.2)
    b = rng.exponential(20.0, 90) * (rng.random(90) < 0.1)

    interval = inference.welch_difference(a, b)
    reference = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)

    assert interval.estimate == pytest.approx(a.mean() - b.mean())
    assert (interval.low, interval.high) == pytest.approx((reference.low, reference.high))


def test_welch_needs_two_values_per_group_and_some_spread():
    assert inference.welch_difference([1.0], [1.0, 2.0]) is None
    assert inference.welch_difference([0.0, 0.0], [0.0, 0.0, 0.0]) is None


def test_members_needed_scales_the_half_width_as_one_over_root_n():
    interval = inference.Interval(0.01, -0.02, 0.04)   # +-0.03 with 1,000 members

    assert inference.members_needed(1000, interval, 0.03) == 0
    assert inference.members_needed(1000, interval, 0.015) == 3000   # half the width: 4x
    assert inference.members_needed(1000, interval, 0.01) == 8000    # a third: 9x
    assert inference.target_precision(interval) == 0.01
    assert inference.target_precision(inference.Interval(0.0, -0.02, 0.02)) == 0.01


def test_with_no_effect_the_conversion_interval_covers_zero_in_about_95_percent_of_runs():
    rng = np.random.default_rng(2026)
    runs, mailed, held, rate = 400, 900, 100, 0.08
    covered = 0
    for _ in range(runs):
        k1, k2 = rng.binomial(mailed, rate), rng.binomial(held, rate)
        covered += inference.newcombe_difference(k1, mailed, k2, held).includes_zero

    assert 0.92 <= covered / runs <= 0.98


def test_with_no_effect_the_revenue_interval_covers_zero_in_about_95_percent_of_runs():
    rng = np.random.default_rng(2027)
    runs, mailed, held = 400, 900, 300
    covered = 0
    for _ in range(runs):
        # most members buy nothing; buyers spend a skewed amount (same for both groups)
        a = (rng.random(mailed) < 0.15) * rng.lognormal(4.0, 0.6, mailed)
        b = (rng.random(held) < 0.15) * rng.lognormal(4.0, 0.6, held)
        covered += inference.welch_difference(a, b).includes_zero

    assert 0.92 <= covered / runs <= 0.98


def test_with_a_real_effect_the_interval_usually_excludes_zero():
    rng = np.random.default_rng(2028)
    runs, mailed, held = 200, 4000, 1000
    found = sum(not inference.newcombe_difference(rng.binomial(mailed, 0.12), mailed,
                                                  rng.binomial(held, 0.06), held).includes_zero
                for _ in range(runs))

    assert found / runs > 0.9


def test_a_difference_made_only_of_rounding_noise_is_zero():
    # 0.1 + 0.2 and 0.3 are the same money; their float means differ by 1.4e-17
    interval = inference.welch_difference([.1, .2, 0, 0], [.3, 0, 0, 0])

    assert interval.estimate == 0.0
    assert interval.low == -interval.high


def test_a_difference_under_half_the_resolution_is_zero_and_the_rest_is_whole_steps():
    tiny = inference.welch_difference([.014, 0, 0, .01], [0, .01, 0, 0], resolution=0.01)
    cents = inference.welch_difference([10.07, 0, 3.0, 0], [0, 2.0, 0, 0], resolution=0.01)

    assert tiny.estimate == 0.0                        # 0.35 of a cent
    assert cents.estimate == 2.77                     # 3.2675 - 0.50 = 2.7675
    assert cents.high - cents.estimate == pytest.approx(cents.estimate - cents.low)


def test_the_precision_asked_for_is_never_finer_than_what_the_page_shows():
    nothing_seen = inference.Interval(0.0, -0.004, 0.004)

    assert inference.target_precision(nothing_seen, resolution=0.01) == 0.01
    assert inference.target_precision(inference.Interval(0.0, -0.3, 0.3), 0.01) == 0.15


def test_members_needed_says_more_than_the_cap_past_it():
    interval = inference.Interval(0.0, -1.0, 1.0)   # +-1 with 1,000 members

    assert inference.members_needed(1000, interval, 0.5) == 3000
    assert inference.members_needed(1000, interval, 1e-9) == inference.MEMBERS_NEEDED_CAP
    assert inference.members_needed(1000, interval, 1e-9, cap=None) > 10 ** 20
