"""Erlang C and Erlang A formulas and requirement searches: against pyworkforce, against an
independent birth-death computation, and by their defining properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from dispatcher.erlang import (
    average_speed_of_answer,
    erlang_a,
    erlang_b,
    erlang_c,
    occupancy,
    required_agents,
    required_agents_erlang_a,
    service_level,
)
from dispatcher.errors import InvalidInput

AHT = 180.0


def erlang_b_by_recursion(n: int, a: float) -> float:
    """Textbook Erlang B recursion in plain floats (stable for any load, slow for large n)."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


# ------------------------------------------------------------------------------------ pyworkforce


def pyworkforce_model(traffic: float, aht_s: float, answer_s: float):  # type: ignore[no-untyped-def]
    from pyworkforce.queuing import ErlangC as erlang  # the test extra installs it: a missing one fails

    # pyworkforce works in minutes: transactions per interval, aht and asa in minutes
    return erlang(transactions=traffic * 15.0 / (aht_s / 60.0), aht=aht_s / 60.0, asa=answer_s / 60.0, interval=15)


GRID_TRAFFIC = [0.05, 0.7, 1.3, 3.9, 8.2, 17.5, 42.0, 96.3, 230.7, 488.1]


@pytest.mark.parametrize("traffic", GRID_TRAFFIC)
@pytest.mark.parametrize(("aht_s", "answer_s"), [(180.0, 20.0), (420.0, 60.0), (45.0, 10.0)])
def test_service_level_and_asa_agree_with_pyworkforce_to_1e6(traffic: float, aht_s: float, answer_s: float) -> None:
    model = pyworkforce_model(traffic, aht_s, answer_s)
    agents = np.arange(math.floor(traffic) + 1, math.floor(traffic) + 1 + 6 + int(3 * math.sqrt(traffic)))
    rate = traffic / aht_s
    ours_sl = service_level(agents, rate, aht_s, answer_s)
    ours_asa = average_speed_of_answer(agents, rate, aht_s)
    for n, sl, asa in zip(agents, ours_sl, ours_asa, strict=True):
        their_sl = model.service_level(int(n))
        their_asa = model.waiting_probability(int(n)) * aht_s / (n - traffic)
        assert sl == pytest.approx(their_sl, rel=1e-6, abs=1e-12)
        assert asa == pytest.approx(their_asa, rel=1e-6)


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("max_occupancy", [1.0, 0.85])
def test_required_agents_are_identical_to_pyworkforce_on_a_grid(target: float, max_occupancy: float) -> None:
    rng = np.random.default_rng(11)
    traffic = np.concatenate([GRID_TRAFFIC, rng.uniform(0.5, 500.0, 150)])
    ours = required_agents(traffic / AHT, np.full(traffic.size, AHT), target_sl=target, answer_within_s=20.0,
                           max_occupancy=max_occupancy)
    for a, n in zip(traffic, ours, strict=True):
        model = pyworkforce_model(float(a), AHT, 20.0)
        theirs = model.required_positions(target, max_occupancy)["raw_positions"]
        # pyworkforce starts its search at round(a + 1), so it can never answer floor(a) + 1 when a's
        # fraction is above one half; everywhere else the counts must be identical
        start = round(a + 1)
        if n < start:
            assert theirs == start
            assert model.service_level(int(n)) >= target and a / n <= max_occupancy
        else:
            assert n == theirs, f"traffic {a}"


# ------------------------------------------------------------------------------------- Erlang B/C


@pytest.mark.parametrize(("n", "a"), [(1, 0.01), (3, 0.5), (12, 9.7), (70, 61.2), (530, 500.0),
                                      (10_150, 10_000.0), (9_900, 10_000.0), (10, 5_000.0), (1, 2_000.0)])
def test_erlang_b_matches_the_recursion_from_small_to_ten_thousand_erlangs(n: int, a: float) -> None:
    assert erlang_b(n, a) == pytest.approx(erlang_b_by_recursion(n, a), rel=1e-9)


def test_erlang_c_is_finite_and_within_0_1_over_the_whole_range() -> None:
    traffic = np.geomspace(0.01, 10_000.0, 400)
    agents = np.floor(traffic + 2.0 * np.sqrt(traffic)) + 1
    c = erlang_c(agents, traffic)
    assert np.isfinite(c).all() and (c > 0).all() and (c < 1).all()
    n = required_agents(traffic / AHT, np.full(traffic.size, AHT), target_sl=0.8, answer_within_s=20.0)
    assert (n > traffic).all() and (n < traffic + 6 * np.sqrt(traffic) + 5).all()


def test_a_known_textbook_value() -> None:
    # 10 Erlangs on 12 agents: P(wait) = 0.4494 (Erlang C table, e.g. Gans, Koole & Mandelbaum 2003)
    assert erlang_c(12, 10.0) == pytest.approx(0.4494, abs=5e-5)


def test_zero_demand_needs_no_agents_and_reports_perfect_service() -> None:
    rate = np.array([0.0, 0.0])
    assert required_agents(rate, np.array([np.nan, 200.0]), target_sl=0.8, answer_within_s=20).tolist() == [0, 0]
    assert service_level(np.array([0, 3]), rate, 200.0, 20.0).tolist() == [1.0, 1.0]
    assert occupancy(np.array([0, 3]), rate, 200.0).tolist() == [0.0, 0.0]


def test_max_asa_target_adds_agents_until_the_mean_wait_fits() -> None:
    rate = np.array([30.0 / AHT])
    plain = required_agents(rate, AHT, target_sl=0.5, answer_within_s=20)[0]
    strict = required_agents(rate, AHT, target_sl=0.5, answer_within_s=20, max_asa_s=2.0)[0]
    assert strict > plain
    assert average_speed_of_answer(strict, rate, AHT)[()] <= 2.0 < average_speed_of_answer(strict - 1, rate, AHT)[()]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rate_per_s": [0.1, -0.2]}, "rate_per_s"),
        ({"rate_per_s": [0.1, math.nan]}, "rate_per_s"),
        ({"aht_s": [180.0, math.nan]}, "aht_s"),
        ({"aht_s": [180.0, 0.0]}, "aht_s"),
        ({"target_sl": 1.2}, "target_sl"),
        ({"target_sl": 0.0}, "target_sl"),
        ({"answer_within_s": 0.0}, "answer_within_s"),
        ({"max_occupancy": 1.5}, "max_occupancy"),
    ],
)
def test_bad_input_is_invalid_input_naming_the_value(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"rate_per_s": [0.1, 0.2], "aht_s": [180.0, 180.0], "target_sl": 0.8,
                               "answer_within_s": 20.0, **kwargs}
    with pytest.raises(InvalidInput) as info:
        required_agents(args.pop("rate_per_s"), args.pop("aht_s"), **args)  # type: ignore[arg-type]
    assert info.value.field == field
    bad = kwargs[next(iter(kwargs))]
    shown = bad[1] if isinstance(bad, list) else bad
    assert repr(shown) in str(info.value) or str(shown) in str(info.value)


# ------------------------------------------------------------------------------------------ Erlang A


def birth_death_erlang_a(n: int, lam: float, mu: float, theta: float, t: float, extra: int = 400
                         ) -> tuple[float, float, float]:
    """Share answered within t, P(abandon) and P(wait) of M/M/n+M from the truncated chain."""
    size = n + extra
    p = np.zeros(size + 1)
    p[0] = 1.0
    for k in range(1, size + 1):
        p[k] = p[k - 1] * lam / (min(k, n) * mu + max(k - n, 0) * theta)
    p /= p.sum()
    abandon = sum(p[k] * (k - n) * theta for k in range(n, size + 1)) / lam
    # a new arrival with j ahead moves up at rate n·mu + j·theta and hangs up itself at rate theta;
    # states 0..extra are "j ahead", then "answered" and "hung up" absorb
    generator = np.zeros((extra + 3, extra + 3))
    for j in range(extra + 1):
        forward = n * mu + j * theta
        generator[j, j - 1 if j else extra + 1] = forward
        generator[j, extra + 2] = theta
        generator[j, j] = -(forward + theta)
    answered_by_t = expm(generator * t)[: extra + 1, extra + 1]
    answered = p[:n].sum() + float(np.dot(p[n:n + extra + 1], answered_by_t))
    return answered, abandon, float(p[n:].sum())


@pytest.mark.parametrize(("n", "traffic", "patience"), [(10, 8.0, 120.0), (25, 24.0, 60.0), (5, 7.0, 300.0),
                                                         (40, 30.0, 30.0), (3, 6.0, 90.0), (2, 40.0, 10.0)])
def test_erlang_a_matches_the_birth_death_chain(n: int, traffic: float, patience: float) -> None:
    lam = traffic / AHT
    sl, abandon, wait = birth_death_erlang_a(n, lam, 1 / AHT, 1 / patience, 20.0)
    metrics = erlang_a(n, lam, AHT, patience, 20.0)
    assert metrics.service_level[()] == pytest.approx(sl, rel=1e-7)
    assert metrics.abandon_rate[()] == pytest.approx(abandon, rel=1e-7)
    assert metrics.wait_probability[()] == pytest.approx(wait, rel=1e-7)
    assert metrics.asa_s[()] == pytest.approx(abandon * patience, rel=1e-7)  # Little: E[wait] = P(ab)/theta


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    agents = np.array([11, 14, 20])
    rate = np.full(3, 10.0 / AHT)
    metrics = erlang_a(agents, rate, AHT, 1e9, 20.0)
    np.testing.assert_allclose(metrics.service_level, service_level(agents, rate, AHT, 20.0), rtol=1e-5)
    np.testing.assert_allclose(metrics.wait_probability, erlang_c(agents, 10.0), rtol=1e-5)


def test_erlang_a_stays_finite_when_the_incomplete_gamma_underflows() -> None:
    # 10,000 Erlangs, far more agents than needed and a long patience: gamma(x, y) ~ 1e-2000
    metrics = erlang_a(np.array([14_000.0]), np.array([10_000.0 / AHT]), AHT, 3_000.0, 20.0)
    assert metrics.service_level[0] == pytest.approx(1.0)
    assert 0.0 <= metrics.abandon_rate[0] < 1e-12


def test_erlang_a_needs_fewer_agents_than_erlang_c_when_callers_hang_up() -> None:
    traffic = np.array([5.0, 50.0, 400.0])
    rate = traffic / AHT
    n_c = required_agents(rate, AHT, target_sl=0.8, answer_within_s=20)
    n_a = required_agents_erlang_a(rate, AHT, 120.0, target_sl=0.8, answer_within_s=20)
    assert (n_a < n_c).all()


def test_erlang_a_needs_more_agents_when_hang_ups_would_miss_a_long_answer_time() -> None:
    # 95 % within 5 min but callers give up after 2 s on average: a hang-up is a miss, so Erlang A
    # must keep almost everyone from waiting at all, which Erlang C does not have to
    rate = np.array([10.0 / AHT])
    n_c = required_agents(rate, AHT, target_sl=0.95, answer_within_s=300)[0]
    n_a = required_agents_erlang_a(rate, AHT, 2.0, target_sl=0.95, answer_within_s=300)[0]
    assert (n_c, n_a) == (12, 15)


def test_erlang_a_with_an_abandonment_cap_adds_agents() -> None:
    rate = np.array([50.0 / AHT])
    loose = required_agents_erlang_a(rate, AHT, 60.0, target_sl=0.5, answer_within_s=20)[0]
    capped = required_agents_erlang_a(rate, AHT, 60.0, target_sl=0.5, answer_within_s=20, max_abandon=0.005)[0]
    assert capped > loose
    assert erlang_a(capped, rate, AHT, 60.0, 20.0).abandon_rate[0] <= 0.005
    assert erlang_a(capped - 1, rate, AHT, 60.0, 20.0).abandon_rate[0] > 0.005


# ------------------------------------------------------------------------------------- properties

traffic_st = st.floats(min_value=0.01, max_value=2_000.0, allow_nan=False)
aht_st = st.floats(min_value=20.0, max_value=1_200.0)
target_st = st.floats(min_value=0.05, max_value=0.99)
answer_st = st.floats(min_value=1.0, max_value=300.0)


@settings(max_examples=60, deadline=None)
@given(traffic_st, aht_st, target_st, answer_st, st.sampled_from([1.0, 0.9, 0.75]))
def test_erlang_c_answer_meets_every_target_and_one_fewer_does_not(
    traffic: float, aht: float, target: float, answer: float, max_occ: float
) -> None:
    rate = np.array([traffic / aht])
    n = int(required_agents(rate, aht, target_sl=target, answer_within_s=answer, max_occupancy=max_occ)[0])
    assert service_level(n, rate, aht, answer)[0] >= target and traffic / n <= max_occ
    below = n - 1
    assert below <= traffic or service_level(below, rate, aht, answer)[0] < target or traffic / below > max_occ


@settings(max_examples=40, deadline=None)
@given(traffic_st, aht_st, target_st, answer_st, st.floats(min_value=5.0, max_value=3_600.0))
def test_erlang_a_answer_meets_the_target_and_one_fewer_does_not(
    traffic: float, aht: float, target: float, answer: float, patience: float
) -> None:
    rate = np.array([traffic / aht])
    n = int(required_agents_erlang_a(rate, aht, patience, target_sl=target, answer_within_s=answer)[0])
    assert erlang_a(n, rate, aht, patience, answer).service_level[0] >= target
    assert n == 1 or erlang_a(n - 1, rate, aht, patience, answer).service_level[0] < target


@settings(max_examples=40, deadline=None)
@given(st.lists(traffic_st, min_size=2, max_size=30), aht_st, target_st, target_st)
def test_required_agents_are_monotone_in_volume_and_in_target(
    loads: list[float], aht: float, target_1: float, target_2: float
) -> None:
    traffic = np.sort(np.array(loads))
    rate = traffic / aht
    low, high = sorted((target_1, target_2))
    for solve in (
        lambda t: required_agents(rate, aht, target_sl=t, answer_within_s=20.0),
        lambda t: required_agents_erlang_a(rate, aht, 90.0, target_sl=t, answer_within_s=20.0),
    ):
        at_low, at_high = solve(low), solve(high)
        assert (np.diff(at_low) >= 0).all() and (np.diff(at_high) >= 0).all()
        assert (at_high >= at_low).all()


def test_erlang_a_stays_finite_for_a_vanishing_load() -> None:
    # A subnormal load (1e-318 Erlangs) once gave 1/(ρA) - 1/ρ as inf - inf: NaN abandonment.
    metrics = erlang_a(np.array([1, 5, 50]), np.full(3, 1e-320), 300.0, 120.0, 20.0)
    for values in (metrics.service_level, metrics.abandon_rate, metrics.wait_probability, metrics.occupancy):
        assert np.isfinite(values).all()
    assert (metrics.abandon_rate <= 1e-12).all()
    assert (metrics.service_level >= 1 - 1e-12).all()
