"""Staffing plans: shrinkage and rounding, chat concurrency, deferred work with a deadline,
open-hours minimum, and periods above the available headcount."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.erlang import erlang_a, required_agents, service_level
from dispatcher.errors import InvalidInput
from dispatcher.staffing import StaffingTargets, deferred_agents, scheduled_agents, staff_periods

PERIOD = 900.0


def test_shrinkage_rounds_up_without_float_noise_and_reports_the_overstaffing() -> None:
    scheduled, over = scheduled_agents(np.array([7, 8, 0]), 0.3)
    assert scheduled.tolist() == [10, 12, 0]  # 7 / 0.7 is 10.000000000000002 in floats: still 10
    np.testing.assert_allclose(over, [0.0, 12 * 0.7 - 8, 0.0], atol=1e-12)


@pytest.mark.parametrize("shrinkage", [1.0, 1.5, -0.1, math.nan])
def test_shrinkage_outside_0_1_is_invalid_input(shrinkage: float) -> None:
    with pytest.raises(InvalidInput, match="shrinkage") as info:
        StaffingTargets(shrinkage=shrinkage)
    assert info.value.field == "shrinkage"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"service_level": 1.5}, "service_level"), ({"service_level": 0.0}, "service_level"),
    ({"answer_within_s": 0.0}, "answer_within_s"), ({"concurrency": 0}, "concurrency"),
    ({"max_abandon": 0.05}, "max_abandon"), ({"patience_s": -3.0}, "patience_s"),
])
def test_bad_targets_are_invalid_input_naming_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        StaffingTargets(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_negative_or_nan_volume_names_the_period() -> None:
    with pytest.raises(InvalidInput, match=r"-3\.0 at period 1"):
        staff_periods([5.0, -3.0], [200.0, 200.0], PERIOD, StaffingTargets())
    with pytest.raises(InvalidInput, match="nan at period 0"):
        staff_periods([math.nan], [200.0], PERIOD, StaffingTargets())
    with pytest.raises(InvalidInput, match="aht_s"):
        staff_periods([5.0], [-200.0], PERIOD, StaffingTargets())


def test_live_queue_plan_meets_the_target_and_scales_by_shrinkage() -> None:
    volume = np.array([0.0, 4.0, 40.0, 120.0])
    targets = StaffingTargets(service_level=0.8, answer_within_s=20, shrinkage=0.25)
    plan = staff_periods(volume, 240.0, PERIOD, targets)
    rate = volume / PERIOD
    assert plan.agents[0] == 0 and plan.agents_scheduled[0] == 0
    assert (plan.service_level[1:] >= 0.8).all()
    assert (service_level(plan.agents[1:] - 1, rate[1:], 240.0, 20.0) < 0.8).all()
    assert plan.agents_scheduled.tolist() == [math.ceil(n / 0.75 - 1e-9) for n in plan.agents]
    assert (plan.agents_erlang_c == plan.agents).all()
    assert (plan.abandon_rate == 0).all()


def test_erlang_a_plan_reports_both_models_and_abandonment() -> None:
    volume = np.array([20.0, 80.0, 300.0])
    plan = staff_periods(volume, 180.0, PERIOD, StaffingTargets(patience_s=90.0))
    assert (plan.agents < plan.agents_erlang_c).all()
    direct = erlang_a(plan.agents, volume / PERIOD, 180.0, 90.0, 20.0)
    np.testing.assert_allclose(plan.abandon_rate, direct.abandon_rate)
    assert (plan.service_level >= 0.8).all() and (plan.abandon_rate > 0).all()


def test_chat_concurrency_staffs_session_slots_and_divides_by_sessions_per_agent() -> None:
    volume = np.array([30.0, 90.0])
    rate = volume / PERIOD
    plan = staff_periods(volume, 600.0, PERIOD, StaffingTargets(concurrency=3, answer_within_s=60))
    slots = required_agents(rate, 600.0, target_sl=0.8, answer_within_s=60)
    assert plan.agents.tolist() == [math.ceil(s / 3) for s in slots]
    np.testing.assert_allclose(plan.service_level, service_level(plan.agents * 3, rate, 600.0, 60.0))
    np.testing.assert_allclose(plan.occupancy, rate * 600.0 / (plan.agents * 3))


def test_open_periods_keep_the_minimum_and_closed_ones_stay_empty() -> None:
    plan = staff_periods([0.0, 0.2, 0.0], 200.0, PERIOD, StaffingTargets(min_agents_open=2),
                         open_mask=[False, True, True])
    assert plan.agents.tolist() == [0, 2, 2]


def test_periods_above_the_headcount_are_reported_not_capped() -> None:
    plan = staff_periods([10.0, 400.0], 300.0, PERIOD, StaffingTargets(max_agents=50))
    assert plan.over_max.tolist() == [1]
    assert plan.agents_scheduled[1] > 50


# ------------------------------------------------------------------------------------ deferred work


def test_work_of_one_period_is_spread_evenly_up_to_its_deadline() -> None:
    # one hour of work arrives at once; 1 h deadline on 15 min periods: one agent for four periods
    result = deferred_agents([3600.0, 0, 0, 0, 0], PERIOD, 3600.0)
    assert result.agents.tolist() == [1, 1, 1, 1, 0]
    assert result.backlog_work_s.tolist() == [2700.0, 1800.0, 900.0, 0.0, 0.0]
    assert result.resolution_s[0] == 3.5 * PERIOD


def test_deadline_shorter_than_a_period_clears_each_period_by_itself() -> None:
    result = deferred_agents([1800.0, 950.0, 0.0], PERIOD, 600.0)
    assert result.agents.tolist() == [2, 2, 0]
    assert (result.backlog_work_s == 0).all()


def test_closed_periods_hold_the_work_and_stop_the_deadline_clock() -> None:
    result = deferred_agents([1800.0, 900.0, 0.0, 0.0, 0.0], PERIOD, 1800.0,
                             open_mask=[True, False, False, True, True])
    # half of period 0's work is due at the end of the next open period (3); the work that came in
    # while closed gets two open periods from then
    assert result.agents.tolist() == [1, 0, 0, 1, 1]
    assert result.backlog_work_s.tolist() == [900.0, 1800.0, 1800.0, 900.0, 0.0]


def finish_periods(work: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Independent FIFO replay: the period in which each period's work is finished (idle capacity is lost)."""
    arrived = np.cumsum(work)
    done = np.zeros_like(arrived)
    total = 0.0
    for q in range(work.size):
        total = min(total + capacity[q], arrived[q])
        done[q] = total
    return np.searchsorted(done, arrived - 1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=20_000.0), min_size=1, max_size=60),
       st.integers(min_value=1, max_value=8), st.sampled_from([1.0, 0.8]))
def test_deferred_work_always_meets_its_deadline(work_list: list[float], periods: int, max_occ: float) -> None:
    work = np.array(work_list)
    result = deferred_agents(work, PERIOD, periods * PERIOD, max_occupancy=max_occ)
    capacity = result.agents * PERIOD * max_occ
    finish = finish_periods(work, capacity)
    has_work = work > 0
    assert (finish[has_work] <= np.flatnonzero(has_work) + periods - 1).all()
    assert result.done_work_s.sum() + result.backlog_work_s[-1] == pytest.approx(work.sum())
    # never more than what the current backlog needs at a constant rate, rounded up
    assert (result.agents <= np.ceil((result.backlog_work_s + result.done_work_s) / (PERIOD * max_occ)) + 1).all()


def test_deferred_queue_through_the_plan_reports_backlog_in_contacts() -> None:
    plan = staff_periods([12.0, 0.0, 0.0], 300.0, PERIOD, StaffingTargets(resolution_deadline_s=2700.0),
                         open_mask=[True, True, True])
    # 3600 s of work due within 3 periods of 900 s: 1200 s a period rounds up to 2 agents, then 1
    assert plan.agents.tolist() == [2, 1, 1]
    np.testing.assert_allclose(plan.backlog, [6.0, 3.0, 0.0])
    assert (plan.service_level == 1.0).all()
