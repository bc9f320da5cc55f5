"""The segment Markov chain: estimate and projection (pure, hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.analytics import markov
from app.analytics import segments as seg

STATES = ("a", "b", "c")


def test_the_matrix_is_the_share_of_each_row():
    counts = {("a", "a"): 6, ("a", "b"): 2, ("b", "a"): 1, ("b", "b"): 3, ("not_joined", "a"): 4}
    chain = markov.estimate(counts, months=2, states=STATES)

    assert chain.matrix.tolist() == [[0.75, 0.25, 0.0], [0.25, 0.75, 0.0], [0.0, 0.0, 1.0]]
    assert chain.observed.tolist() == [8, 4, 0]
    assert chain.entry.tolist() == [1.0, 0.0, 0.0]
    assert chain.inflow == 2.0


def test_projection_by_hand():
    counts = {("a", "a"): 6, ("a", "b"): 2, ("b", "a"): 1, ("b", "b"): 3, ("not_joined", "a"): 4}
    chain = markov.estimate(counts, months=2, states=STATES)

    month1, month2 = markov.project(chain, {"a": 100, "b": 40}, 2)

    # a: 100 * .75 + 40 * .25 + 2 joiners = 87; b: 100 * .25 + 40 * .75 = 55
    assert month1 == pytest.approx({"a": 87.0, "b": 55.0, "c": 0.0})
    # a: 87 * .75 + 55 * .25 + 2 = 81; b: 87 * .25 + 55 * .75 = 63
    assert month2 == pytest.approx({"a": 81.0, "b": 63.0, "c": 0.0})


def test_without_inflow_the_total_is_kept():
    chain = markov.estimate({("a", "b"): 1, ("b", "c"): 1, ("c", "a"): 1}, 1, states=STATES)
    (month1,) = markov.project(chain, {"a": 5, "b": 7}, 1, with_inflow=False)

    assert month1 == {"a": 0.0, "b": 5.0, "c": 7.0}


def test_no_history_keeps_everyone_where_they_are():
    chain = markov.estimate({}, months=0)

    assert np.array_equal(chain.matrix, np.eye(len(seg.SEGMENTS)))
    assert chain.inflow == 0.0
    assert markov.project(chain, {seg.LOYAL: 3}, 1)[0][seg.LOYAL] == 3.0


def test_steady_state_of_a_two_state_chain():
    chain = markov.estimate({("a", "a"): 3, ("a", "b"): 1, ("b", "a"): 1, ("b", "b"): 1}, 1,
                            states=("a", "b"))
    # pi_a = .75 pi_a + .5 pi_b -> pi_a = 2 pi_b
    assert markov.steady_state(chain) == pytest.approx({"a": 2 / 3, "b": 1 / 3})


@given(st.dictionaries(st.tuples(st.sampled_from(seg.STATES), st.sampled_from(seg.STATES)),
                       st.integers(min_value=0, max_value=1000)))
def test_every_row_sums_to_one_and_holds_probabilities(counts):
    chain = markov.estimate(counts, months=3)

    assert np.allclose(chain.matrix.sum(axis=1), 1.0)
    assert ((chain.matrix >= 0) & (chain.matrix <= 1)).all()
    assert chain.entry.sum() == pytest.approx(1.0) or chain.entry.sum() == 0
