"""The single-skill recursion against hand-checked cases, invariants and Erlang C / Erlang A."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dispatcher.errors import InvalidInput
from dispatcher.simulation.fast import fcfs_waits, fcfs_waits_replicated, queue_kpis, simulate_mmc


def erlang_c_probability_of_wait(agents: int, offered_erlangs: float) -> float:
    """P(wait > 0) in M/M/c, by the stable Erlang B recursion."""
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = offered_erlangs * blocking / (k + offered_erlangs * blocking)
    rho = offered_erlangs / agents
    return blocking / (1 - rho + rho * blocking)


def erlang_c_kpis(rate: float, mean_handle: float, agents: int, threshold: float) -> tuple[float, float]:
    """(service level within threshold, average speed of answer) of M/M/c."""
    mu = 1.0 / mean_handle
    p_wait = erlang_c_probability_of_wait(agents, rate / mu)
    drain = agents * mu - rate
    return 1.0 - p_wait * math.exp(-drain * threshold), p_wait / drain


def erlang_a_abandon_and_wait(
    rate: float, mean_handle: float, agents: int, mean_patience: float
) -> tuple[float, float]:
    """(P(abandon), mean time in queue of all customers) of M/M/c+M from its birth-death chain."""
    mu, theta = 1.0 / mean_handle, 1.0 / mean_patience
    log_p = [0.0]
    n = 0
    while True:
        n += 1
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        log_p.append(log_p[-1] + math.log(rate / death))
        if n > agents and log_p[-1] < log_p[agents] - 50:
            break
    peak = max(log_p)
    p = np.exp(np.array(log_p) - peak)
    p /= p.sum()
    queue_len = np.maximum(np.arange(len(p)) - agents, 0)
    mean_queue = float((p * queue_len).sum())
    return theta * mean_queue / rate, mean_queue / rate


def replicated_ci(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values)
    half = stats.t.ppf(0.975, len(arr) - 1) * arr.std(ddof=1) / math.sqrt(len(arr))
    return float(arr.mean() - half), float(arr.mean() + half)


def test_two_agents_hand_checked_waits_and_abandonment() -> None:
    arrival = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    handle = np.array([10.0, 10.0, 10.0, 10.0, 1.0])
    patience = np.array([np.inf, np.inf, 5.0, 9.0, np.inf])
    waits, abandoned = fcfs_waits(arrival, handle, patience, 2)
    # 0 and 1 start at once; 2 would wait 8 s > 5 s and leaves after 5; 3 waits 7 s (agent free at 10);
    # 4 waits for the agent freed at 11.
    np.testing.assert_allclose(waits, [0.0, 0.0, 5.0, 7.0, 7.0])
    assert abandoned.tolist() == [False, False, True, False, False]


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=60),
    handle=st.floats(0.1, 200.0),
    patience=st.floats(0.0, 300.0),
    agents=st.integers(1, 6),
)
def test_fcfs_invariants(gaps: list[float], handle: float, patience: float, agents: int) -> None:
    arrival = np.cumsum(gaps)
    n = len(arrival)
    handles = np.full(n, handle) * (1 + np.arange(n) % 3)
    waits, abandoned = fcfs_waits(arrival, handles, np.full(n, patience), agents)
    assert np.all(waits >= 0)
    assert np.all(waits[abandoned] == patience)
    assert np.all(waits[~abandoned] <= patience)
    starts = (arrival + waits)[~abandoned]
    assert np.all(np.diff(starts) >= -1e-9), "service starts in arrival order"
    # at any service start, at most `agents` customers are in service
    ends = starts + handles[~abandoned]
    for s in starts:
        assert np.count_nonzero((starts <= s) & (ends > s + 1e-6)) <= agents
    if agents >= n:
        assert not waits.any()


def test_unsorted_arrivals_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="sorted"):
        fcfs_waits(np.array([2.0, 1.0]), np.ones(2), np.ones(2), 1)


WARMUP_S = 10 * 3600.0
HORIZON_S = WARMUP_S + 100 * 3600.0


def test_service_level_and_asa_match_erlang_c_in_steady_state() -> None:
    rate, handle, agents, threshold = 0.1, 180.0, 20, 20.0
    sl_true, asa_true = erlang_c_kpis(rate, handle, agents, threshold)
    sls, asas = [], []
    for rep in range(20):
        run = simulate_mmc(rate_per_s=rate, mean_handle_s=handle, agents=agents, horizon_s=HORIZON_S,
                           rng=np.random.default_rng([11, rep]))
        k = queue_kpis(run, answer_within_s=threshold, warmup_s=WARMUP_S)
        assert k.abandon_rate == 0.0
        sls.append(k.service_level)
        asas.append(k.asa_s)
    lo, hi = replicated_ci(sls)
    assert lo <= sl_true <= hi, (lo, sl_true, hi)
    lo, hi = replicated_ci(asas)
    assert lo <= asa_true <= hi, (lo, asa_true, hi)
    assert hi - lo < 0.5 * asa_true, "the CI is tight enough to mean something"


def test_abandonment_and_mean_wait_match_erlang_a_in_steady_state() -> None:
    rate, handle, agents, patience = 0.1, 180.0, 18, 300.0
    p_abandon, mean_wait = erlang_a_abandon_and_wait(rate, handle, agents, patience)
    abandons, waits = [], []
    for rep in range(20):
        run = simulate_mmc(rate_per_s=rate, mean_handle_s=handle, agents=agents, horizon_s=HORIZON_S,
                           mean_patience_s=patience, rng=np.random.default_rng([12, rep]))
        k = queue_kpis(run, answer_within_s=20.0, warmup_s=WARMUP_S)
        abandons.append(k.abandon_rate)
        waits.append(k.mean_wait_all_s)
    lo, hi = replicated_ci(abandons)
    assert lo <= p_abandon <= hi, (lo, p_abandon, hi)
    assert 0.01 < p_abandon < 0.2
    lo, hi = replicated_ci(waits)
    assert lo <= mean_wait <= hi, (lo, mean_wait, hi)


def test_replicated_recursion_equals_one_run_at_a_time() -> None:
    rng = np.random.default_rng(8)
    reps, n, agents = 5, 400, 4
    arrival = np.sort(rng.uniform(0, 400 * 50.0, (reps, n)), axis=1)
    arrival[2, 350:] = np.inf  # a shorter replication, padded
    handle = rng.exponential(180.0, (reps, n))
    patience = rng.exponential(100.0, (reps, n))
    waits, abandoned = fcfs_waits_replicated(arrival, handle, patience, agents)
    for r in range(reps):
        finite = np.isfinite(arrival[r])
        one_w, one_a = fcfs_waits(arrival[r][finite], handle[r][finite], patience[r][finite], agents)
        np.testing.assert_allclose(waits[r][finite], one_w, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(abandoned[r][finite], one_a)
    assert not abandoned[2, 350:].any() and abandoned.any()
