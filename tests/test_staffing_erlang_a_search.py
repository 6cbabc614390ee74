"""The Erlang A requirement search (walk + fast evaluation) against the pair search it replaced.

``required_agents_erlang_a_reference`` (benchmarks/staffing.py) is the previous implementation,
kept verbatim: counts must be identical. The fast evaluation may only differ from the reference
formulas by far less than the near-tie band inside which the search re-evaluates exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.staffing import required_agents_erlang_a_reference
from dispatcher.erlang import (
    CLOSE_CALL,
    _erlang_a_core,
    _erlang_a_fast,
    _erlang_b_fast,
    erlang_a,
    erlang_b,
    required_agents_erlang_a,
)
from dispatcher.errors import DispatchwiseError


def test_identical_to_the_previous_search_on_the_benchmark_grid() -> None:
    traffic = np.random.default_rng(7).uniform(0.5, 500.0, 50 * 672)
    kwargs = {"target_sl": 0.8, "answer_within_s": 20.0}
    new = required_agents_erlang_a(traffic / 180.0, 180.0, 120.0, **kwargs)
    old = required_agents_erlang_a_reference(traffic / 180.0, 180.0, 120.0, **kwargs)
    assert np.array_equal(new, old)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0, max_value=3_000.0), min_size=1, max_size=40),
    st.floats(min_value=20.0, max_value=1_200.0),
    st.floats(min_value=2.0, max_value=3_600.0),
    st.floats(min_value=0.05, max_value=0.99),
    st.floats(min_value=1.0, max_value=300.0),
    st.sampled_from([1.0, 0.85]),
    st.sampled_from([None, 15.0]),
    st.sampled_from([None, 0.03]),
)
def test_identical_to_the_previous_search_on_random_inputs(
    traffic: list[float], aht: float, patience: float, target: float, answer: float, max_occ: float,
    max_asa: float | None, max_abandon: float | None,
) -> None:
    rate = np.array(traffic) / aht
    kwargs = {"target_sl": target, "answer_within_s": answer, "max_occupancy": max_occ,
              "max_asa_s": max_asa, "max_abandon": max_abandon}
    new = outcome(required_agents_erlang_a, rate, aht, patience, kwargs)
    old = outcome(required_agents_erlang_a_reference, rate, aht, patience, kwargs)
    assert new == old


def outcome(search: Callable[..., Any], rate: Any, aht: float, patience: float, kwargs: dict[str, Any]) -> Any:
    """The counts as a list, or the error's type: both searches reject subnormal loads as infeasible."""
    try:
        return search(rate, aht, patience, **kwargs).tolist()
    except DispatchwiseError as error:
        return type(error)


def test_per_period_aht_and_patience_match_the_previous_search() -> None:
    rng = np.random.default_rng(11)
    traffic = rng.uniform(0.2, 800.0, 3_000)
    aht = rng.uniform(60.0, 600.0, traffic.size)
    patience = rng.uniform(10.0, 900.0, traffic.size)
    kwargs = {"target_sl": 0.9, "answer_within_s": 30.0}
    new = required_agents_erlang_a(traffic / aht, aht, patience, **kwargs)
    old = required_agents_erlang_a_reference(traffic / aht, aht, patience, **kwargs)
    assert np.array_equal(new, old)


def test_fast_erlang_b_is_close_to_the_exact_one() -> None:
    rng = np.random.default_rng(5)
    a = np.exp(rng.uniform(np.log(0.05), np.log(10_000.0), 50_000))
    n = np.maximum(1.0, np.round(a + rng.uniform(-6.0, 8.0, a.size) * np.sqrt(a)))
    assert np.max(np.abs(_erlang_b_fast(n, a) / erlang_b(n, a) - 1.0)) < 5e-6


@pytest.mark.parametrize("answer_s", [2.0, 20.0, 60.0, 300.0])
def test_fast_evaluation_is_far_inside_the_near_tie_band(answer_s: float) -> None:
    rng = np.random.default_rng(int(answer_s))
    a = np.exp(rng.uniform(np.log(0.05), np.log(5_000.0), 20_000))
    n = np.maximum(1.0, np.round(a + rng.uniform(-4.0, 6.0, a.size) * np.sqrt(a)))
    aht = np.exp(rng.uniform(np.log(20.0), np.log(1_200.0), a.size))
    patience = aht * np.exp(rng.uniform(np.log(0.05), np.log(20.0), a.size))
    sl, p_ab, _, occ = _erlang_a_core(n, a, aht, patience, answer_s, erlang_b(n, a))
    fast_sl, fast_ab, fast_occ = _erlang_a_fast(n, a, aht, patience, answer_s, _erlang_b_fast(n, a))
    for ours, reference in ((fast_sl, sl), (fast_ab, p_ab), (fast_occ, occ)):
        assert np.max(np.abs(ours - reference)) < CLOSE_CALL / 20


@pytest.mark.parametrize(("traffic", "agents"), [(37.0, 33), (412.5, 390), (3.2, 3)])
def test_a_target_equal_to_the_service_level_is_met_exactly_there(traffic: float, agents: int) -> None:
    rate = np.array([traffic / 180.0])
    sl = float(erlang_a(agents, rate, 180.0, 120.0, 20.0).service_level[0])
    met = required_agents_erlang_a(rate, 180.0, 120.0, target_sl=sl, answer_within_s=20.0)[0]
    just_missed = required_agents_erlang_a(rate, 180.0, 120.0, target_sl=float(np.nextafter(sl, 1.0)),
                                           answer_within_s=20.0)[0]
    assert met == agents
    assert just_missed == agents + 1
