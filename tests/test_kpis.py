"""The one KPI definition (dispatcher.kpis): hand-computed cases, and the live and simulator adapters agreeing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.live.kpis import compute_kpis
from dispatcher import kpis
from dispatcher.domain import SlaPolicy
from dispatcher.simulation.engine import SimulatedDay
from dispatcher.simulation.kpis import summarize

# Six tasks, 20 s threshold:
#   a answered after 10 s (met)          b answered after 30 s (missed)
#   c abandoned after 5 s (short abandon: out)   d abandoned after 50 s (missed)
#   e waiting 15 s so far (not yet due: out)     f waiting 40 s (missed)
WAIT = np.array([10.0, 30.0, 5.0, 50.0, 15.0, 40.0])
ANSWERED = np.array([True, True, False, False, False, False])
ABANDONED = np.array([False, False, True, True, False, False])


def test_service_level_counts_answered_late_abandons_and_overdue_waiting() -> None:
    counted, met = kpis.service_level_flags(WAIT, ANSWERED, 20.0)
    assert counted.tolist() == [True, True, False, True, False, True]
    assert met.tolist() == [True, False, False, False, False, False]
    assert kpis.service_level(WAIT, ANSWERED, 20.0) == pytest.approx(1 / 4)


def test_service_level_threshold_is_per_task_inclusive_and_inf_means_no_target() -> None:
    assert kpis.service_level([20.0], [True], 20.0) == 1.0  # answered exactly at the threshold
    assert kpis.service_level([20.5], [False], 20.0) == 0.0  # waiting just past it
    assert kpis.service_level([10.0, 30.0], [True, True], [5.0, 60.0]) == 0.5  # each task its own due time
    assert kpis.service_level([999.0, 999.0], [True, False], math.inf) == 1.0  # no target: never missed


def test_service_level_with_nothing_decided_is_nan() -> None:
    assert math.isnan(kpis.service_level([], [], 20.0))
    assert math.isnan(kpis.service_level([5.0, 15.0], [False, False], 20.0))  # short abandon + not yet due


def test_asa_is_the_mean_wait_of_answered_tasks_only() -> None:
    assert kpis.asa(WAIT, ANSWERED) == 20.0
    assert math.isnan(kpis.asa(WAIT, np.zeros(6, dtype=bool)))


def test_abandonment_is_abandoned_over_offered_short_abandons_included() -> None:
    assert kpis.abandonment_rate(ANSWERED, ABANDONED) == pytest.approx(2 / 6)
    assert kpis.abandonment_rate([True], [True]) == 0.0  # answered before the abandon event: not abandoned
    assert math.isnan(kpis.abandonment_rate([], []))


def test_occupancy_sums_busy_over_available() -> None:
    assert kpis.occupancy([1800.0, 900.0, 0.0], [3600.0, 3600.0, 0.0]) == pytest.approx(2700 / 7200)
    assert math.isnan(kpis.occupancy([0.0], [0.0]))


def test_first_contact_resolution_per_task_and_ratio() -> None:
    stated = [1.0, 0.0, math.nan, math.nan, 1.0]
    reopened = [False, False, False, True, True]
    tracked = kpis.first_contact_outcome(stated, reopened, reopens_tracked=True)
    assert tracked.tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]
    untracked = kpis.first_contact_outcome(stated, [False] * 5, reopens_tracked=False)
    assert untracked[:2].tolist() == [1.0, 0.0] and np.isnan(untracked[2:4]).all()
    assert kpis.first_contact_resolution(tracked) == pytest.approx(2 / 5)
    assert kpis.first_contact_resolution(untracked) == pytest.approx(2 / 3)  # unknown left out
    assert math.isnan(kpis.first_contact_resolution([math.nan]))


def test_adherence_is_on_shift_over_scheduled_capped_at_one() -> None:
    assert kpis.adherence(7200.0, 8 * 3600.0) == 0.25
    assert kpis.adherence(9 * 3600.0, 8 * 3600.0) == 1.0
    per_agent = kpis.adherence(np.array([3600.0, 100.0, 5.0]), np.array([7200.0, 50.0, 0.0]))
    assert isinstance(per_agent, np.ndarray)
    assert per_agent[:2].tolist() == [0.5, 1.0] and math.isnan(per_agent[2])


def test_ratio_is_elementwise_with_nan_for_zero_denominators() -> None:
    out = kpis.ratio(np.array([1.0, 2.0, 0.0]), np.array([2.0, 0.0, 0.0]))
    assert out[0] == 0.5 and np.isnan(out[1:]).all()
    assert kpis.ratio(3.0, 4.0) == 0.75 and math.isnan(kpis.ratio(1.0, 0.0))


def test_live_kpis_of_the_hand_case() -> None:
    arrival = np.array([0.0, 0.0, 0.0, 0.0, 85.0, 60.0])  # e and f have waited 15 s and 40 s at now = 100 s
    events = _audit_events(WAIT, ANSWERED, ABANDONED, threshold_s=20.0, arrival_s=arrival)
    body = compute_kpis(events, from_ms=0, to_ms=10**9, now_ms=100_000)
    assert (body["service_level"], body["asa_s"], body["abandonment_rate"]) == (0.25, 20.0, 0.3333)
    empty = compute_kpis([], from_ms=0, to_ms=10, now_ms=10)
    assert empty["service_level"] is None and empty["asa_s"] is None and empty["abandonment_rate"] is None


# ---------------------------------------------------------------------------------------------------
# The live adapter (audit events) and the simulator adapter (SimulatedDay) on the same tasks

def _audit_events(wait_s: np.ndarray, answered: np.ndarray, abandoned: np.ndarray, *, threshold_s: float,
                  arrival_s: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Tasks created at ``arrival_s`` (default 0), accepted or cancelled as abandoned after ``wait_s``."""
    arrivals = np.zeros(len(wait_s)) if arrival_s is None else arrival_s
    events: list[dict[str, Any]] = []
    for i, (arrive, wait, ans, gone) in enumerate(zip(arrivals, wait_s, answered, abandoned, strict=True)):
        created = round(arrive * 1000)
        due = created + round(threshold_s * 1000)
        events.append({"task_id": f"t{i}", "event": "created", "at_ms": created, "skill": "billing",
                       "data": {"due_ms": due}})
        end = created + round(wait * 1000)
        if ans:
            events.append({"task_id": f"t{i}", "event": "accepted", "at_ms": end, "agent_id": "a1"})
        elif gone:
            events.append({"task_id": f"t{i}", "event": "cancelled", "at_ms": end, "data": {"reason": "abandoned"}})
    return events


def _simulated_day(arrival_s: np.ndarray, wait_s: np.ndarray, answered: np.ndarray, abandoned: np.ndarray,
                   horizon_s: float) -> SimulatedDay:
    n = len(arrival_s)
    start = np.where(answered, arrival_s + wait_s, np.nan)
    return SimulatedDay(
        queues=("billing",), agent_ids=("a1",), horizon_s=horizon_s, arrival_s=arrival_s,
        queue=np.zeros(n, dtype=np.int64), quadrant_rank=np.zeros(n, dtype=np.int64),
        start_s=start, end_s=start + 60.0, agent=np.where(answered, 0, -1).astype(np.int64),
        abandoned=abandoned & ~answered, wait_s=wait_s,
        agent_busy_s=np.array([60.0 * int(answered.sum())]), agent_duty_s=np.array([horizon_s]),
        agent_handled=np.array([int(answered.sum())], dtype=np.int64), events=0,
    )


outcome = st.sampled_from(["answered", "abandoned", "waiting"])
task = st.tuples(st.integers(0, 900_000), st.integers(0, 600_000), outcome)  # arrival ms, wait ms, outcome
HORIZON_MS = 900_001


@settings(max_examples=150, deadline=None)
@given(tasks=st.lists(task, max_size=40), threshold_ms=st.integers(1, 300_000))
def test_live_and_simulator_adapters_agree_on_the_same_tasks(
    tasks: list[tuple[int, int, str]], threshold_ms: int
) -> None:
    arrival_ms = np.array([a for a, _, _ in tasks], dtype=np.int64)
    kind = np.array([k for _, _, k in tasks], dtype=object)
    answered, abandoned = kind == "answered", kind == "abandoned"
    waiting = ~answered & ~abandoned
    raw_ms = np.array([w for _, w, _ in tasks], dtype=np.int64)
    # everything happens before the end of the run; a task still waiting then has waited until it
    wait_ms = np.where(waiting, HORIZON_MS - arrival_ms, np.minimum(raw_ms, HORIZON_MS - arrival_ms))
    arrival, wait, threshold_s = arrival_ms / 1000, wait_ms / 1000, threshold_ms / 1000

    live = compute_kpis(_audit_events(wait, answered, abandoned, threshold_s=threshold_s, arrival_s=arrival),
                        from_ms=0, to_ms=HORIZON_MS, now_ms=HORIZON_MS)
    day = _simulated_day(arrival, wait, answered, abandoned, HORIZON_MS / 1000)
    sim = summarize(day, answer_within_s=threshold_s, sla=SlaPolicy())

    for live_key, sim_key, digits in (("service_level", "service_level", 4), ("asa_s", "asa_s", 3),
                                      ("abandonment_rate", "abandon_rate", 4)):
        if live[live_key] is None:
            assert math.isnan(sim[sim_key]), live_key
        else:
            assert live[live_key] == pytest.approx(sim[sim_key], abs=10.0**-digits), live_key
    assert live["tasks"] == sim["offered"] == len(tasks)
