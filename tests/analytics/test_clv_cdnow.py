"""BG/NBD and Gamma-Gamma checked against the published CDNOW results.

Data: the CDNOW sample of Fader, Hardie & Lee (2005), /work/shared/data (see its README).
Several purchases on one day are one transaction; calibration is each customer's first
purchase to 1997-09-30 (39 weeks of the cohort).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.analytics import clv

DATA = Path(os.environ.get("SHARED_DATA_DIR", "/work/shared/data")) / "cdnow-sample.txt"
END = date(1997, 9, 30)

pytestmark = pytest.mark.skipif(not DATA.exists(), reason="the CDNOW sample is not here")


@pytest.fixture(scope="module")
def cdnow():
    days: dict[str, dict[date, float]] = {}
    for line in DATA.read_text().splitlines():
        if not line.strip():
            continue
        customer, _, when, _, value = line.split()
        day = date(int(when[:4]), int(when[4:6]), int(when[6:]))
        days.setdefault(customer, {}).setdefault(day, 0.0)
        days[customer][day] += float(value)
    x, t_x, T, mean = [], [], [], []
    for purchases in days.values():
        calibration = sorted(d for d in purchases if d <= END)
        first = calibration[0]
        x.append(len(calibration) - 1)
        t_x.append((calibration[-1] - first).days / 7)
        T.append((END - first).days / 7)
        repeat = [purchases[d] for d in calibration[1:]]
        mean.append(sum(repeat) / len(repeat) if repeat else 0.0)
    return np.array(x, float), np.array(t_x), np.array(T), np.array(mean)


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    x, t_x, T, _ = cdnow
    return clv.fit_bgnbd(x, t_x, T)


def test_the_sample_is_the_papers(cdnow):
    x, _, _, _ = cdnow
    assert len(x) == 2357
    assert int((x > 0).sum()) == 946


def test_bgnbd_fit_matches_the_published_parameters(bgnbd):
    # Fader, Hardie & Lee (2005), Table/section 5: r=0.243, alpha=4.414, a=0.793, b=2.426
    assert bgnbd.converged
    assert bgnbd.r == pytest.approx(0.243, abs=0.002)
    assert bgnbd.alpha == pytest.approx(4.414, abs=0.02)
    assert bgnbd.a == pytest.approx(0.793, abs=0.005)
    assert bgnbd.b == pytest.approx(2.426, abs=0.02)


def test_gamma_gamma_fit_matches_the_published_parameters(cdnow):
    x, _, _, mean = cdnow
    gg = clv.fit_gamma_gamma(x, mean)
    # Fader & Hardie, "The Gamma-Gamma Model of Monetary Value": p=6.25, q=3.74, gamma=15.44
    assert gg.p == pytest.approx(6.25, abs=0.02)
    assert gg.q == pytest.approx(3.74, abs=0.02)
    assert gg.gamma == pytest.approx(15.44, abs=0.1)


def test_conditional_expectation_of_the_papers_example_customer(bgnbd):
    # The paper's worked example: x=2, t_x=30.43, T=38.86 expects 1.226 purchases in 39 weeks.
    expected = clv.expected_purchases(bgnbd, 39, np.array([2.0]), np.array([30.43]),
                                      np.array([38.86]))
    assert expected[0] == pytest.approx(1.226, abs=0.01)


def test_clv_is_positive_and_discounting_lowers_it(cdnow, bgnbd):
    x, t_x, T, mean = cdnow
    gg = clv.fit_gamma_gamma(x, mean)
    plain, purchases = clv.clv(bgnbd, gg, x, t_x, T, mean, months=12, annual_discount=0.0)
    discounted, _ = clv.clv(bgnbd, gg, x, t_x, T, mean, months=12, annual_discount=0.2)
    assert (plain >= 0).all() and (purchases >= 0).all()
    assert (discounted <= plain + 1e-9).all()
    assert discounted.sum() < plain.sum()


@given(x=st.integers(min_value=0, max_value=60),
       t_x=st.floats(min_value=0, max_value=100), extra=st.floats(min_value=0, max_value=100))
def test_probability_of_being_active_is_a_probability(x, t_x, extra):
    model = clv.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    value = clv.p_alive(model, np.array([x]), np.array([t_x if x else 0.0]),
                        np.array([t_x + extra]))[0]
    assert 0.0 <= value <= 1.0
    if x == 0:
        assert value == 1.0
