"""The multi-skill event loop: agrees with the FCFS recursion, keeps its invariants, routes by policy."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.datagen import GeneratorConfig, default_templates, generate
from dispatcher.simulation.arrivals import Tasks
from dispatcher.simulation.engine import SimulatedDay, simulate
from dispatcher.simulation.fast import fcfs_waits
from dispatcher.simulation.model import ROUTING_POLICIES, Demand, SimulationConfig, Staffing, staffing_from_roster
from dispatcher.simulation.replicate import Study, compare, run_study
from dispatcher.simulation.rosters import cyclic_roster
from dispatcher.simulation.scenarios import Scenario


def make_tasks(arrival: list[float], queue: list[int], handle: list[float], patience: list[float],
               urgent: list[bool] | None = None, important: list[bool] | None = None) -> Tasks:
    n = len(arrival)
    return Tasks(
        arrival_s=np.asarray(arrival, dtype=float),
        queue=np.asarray(queue, dtype=np.int64),
        urgent=np.asarray(urgent if urgent is not None else [False] * n, dtype=bool),
        important=np.asarray(important if important is not None else [False] * n, dtype=bool),
        handle_s=np.asarray(handle, dtype=float),
        patience_s=np.asarray(patience, dtype=float),
    )


def make_staffing(proficiency: list[list[int]], duty: list[list[tuple[float, float]]],
                  primary: list[list[bool]] | None = None) -> Staffing:
    prof = np.asarray(proficiency, dtype=np.int64)
    return Staffing(
        agent_ids=tuple(f"a{i}" for i in range(len(proficiency))),
        proficiency=prof,
        primary=np.asarray(primary, dtype=bool) if primary is not None else prof >= 3,
        duty=tuple(tuple(d) for d in duty),
    )


def run(tasks: Tasks, staffing: Staffing, routing: str, horizon: float = 1e6) -> SimulatedDay:
    queues = tuple(f"q{i}" for i in range(staffing.proficiency.shape[1]))
    return simulate(tasks, staffing, SimulationConfig(routing=routing), queues=queues, horizon_s=horizon)


@pytest.mark.parametrize("routing", ["greedy", "round_robin", "least_busy"])
def test_one_queue_event_loop_reproduces_the_fcfs_recursion(routing: str) -> None:
    rng = np.random.default_rng(5)
    n, agents = 3000, 7
    arrival = np.sort(rng.uniform(0, 3000 * 25.0, n))
    handle = rng.exponential(160.0, n)
    patience = rng.exponential(120.0, n)
    waits, abandoned = fcfs_waits(arrival, handle, patience, agents)
    tasks = make_tasks(arrival.tolist(), [0] * n, handle.tolist(), patience.tolist())
    log = run(tasks, make_staffing([[3]] * agents, [[(0.0, 1e9)]] * agents), routing)
    np.testing.assert_array_equal(log.abandoned, abandoned)
    np.testing.assert_allclose(log.wait_s, waits, atol=1e-6)
    assert abandoned.any() and (waits > 0).any()


def test_optimizer_serves_urgent_important_task_before_older_unimportant_one() -> None:
    # the first task starts at the first batch (t=2) and keeps the only agent busy until 102;
    # a Q4 task arrives at 10, a Q1 task at 20
    tasks = make_tasks([0.0, 10.0, 20.0], [0, 0, 0], [100.0, 50.0, 50.0], [1e9] * 3,
                       urgent=[False, False, True], important=[False, False, True])
    staffing = make_staffing([[3]], [[(0.0, 1e6)]])
    optimizer = run(tasks, staffing, "optimizer")
    greedy = run(tasks, staffing, "greedy")
    assert optimizer.start_s[2] < optimizer.start_s[1], "Q1 jumps the queue"
    assert greedy.start_s[1] < greedy.start_s[2], "greedy is first come, first served"
    assert optimizer.start_s[2] <= 102.0 + SimulationConfig().routing_policy.batch_interval_s


def test_agent_finishes_the_task_in_hand_then_takes_no_work_on_break() -> None:
    # on duty 0-60 and 120-500; the first task runs past the break start
    tasks = make_tasks([0.0, 10.0], [0, 0], [80.0, 30.0], [1e9, 1e9])
    log = run(tasks, make_staffing([[3]], [[(0.0, 60.0), (120.0, 500.0)]]), "greedy")
    assert log.end_s[0] == 80.0
    assert log.start_s[1] == 120.0, "the waiting task starts when the break ends"
    assert log.agent_busy_s[0] == pytest.approx(110.0)
    assert log.agent_duty_s[0] == pytest.approx(440.0)


def test_task_without_a_skilled_agent_is_stranded_or_abandons() -> None:
    tasks = make_tasks([0.0, 1.0], [1, 1], [10.0, 10.0], [50.0, np.inf])
    log = run(tasks, make_staffing([[3, 0]], [[(0.0, 100.0)]]), "optimizer", horizon=100.0)
    assert log.abandoned.tolist() == [True, False]
    assert np.isnan(log.start_s).all()
    assert log.wait_s[0] == 50.0


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n_tasks=st.integers(1, 40),
    n_agents=st.integers(1, 5),
    n_queues=st.integers(1, 3),
    routing=st.sampled_from(ROUTING_POLICIES),
)
def test_event_loop_invariants(data: st.DataObject, n_tasks: int, n_agents: int, n_queues: int,
                               routing: str) -> None:
    floats = st.floats(0.0, 500.0)
    arrival = sorted(data.draw(st.lists(floats, min_size=n_tasks, max_size=n_tasks)))
    queue = data.draw(st.lists(st.integers(0, n_queues - 1), min_size=n_tasks, max_size=n_tasks))
    handle = data.draw(st.lists(st.floats(1.0, 100.0), min_size=n_tasks, max_size=n_tasks))
    patience = data.draw(st.lists(st.floats(0.0, 300.0), min_size=n_tasks, max_size=n_tasks))
    flags = data.draw(st.lists(st.booleans(), min_size=2 * n_tasks, max_size=2 * n_tasks))
    prof = data.draw(st.lists(st.lists(st.integers(0, 5), min_size=n_queues, max_size=n_queues),
                              min_size=n_agents, max_size=n_agents))
    duty = []
    for _ in range(n_agents):
        cuts = sorted(data.draw(st.lists(st.floats(0.0, 800.0), min_size=0, max_size=4, unique=True)))
        pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
        duty.append(pairs)
    tasks = make_tasks(arrival, queue, handle, patience, flags[:n_tasks], flags[n_tasks:])
    staffing = make_staffing(prof, duty)
    log = run(tasks, staffing, routing, horizon=800.0)

    served = ~np.isnan(log.start_s)
    assert not np.any(served & log.abandoned), "a task is served or abandoned, not both"
    assert np.all(log.wait_s >= 0)
    assert np.all(log.wait_s[log.abandoned] == tasks.patience_s[log.abandoned])
    assert np.all(log.wait_s[served] <= tasks.patience_s[served] + 1e-9)
    q = tasks.queue[served]
    agent = log.agent[served]
    assert np.all(staffing.proficiency[agent, q] > 0), "only skilled agents serve"
    factor = np.asarray(SimulationConfig().proficiency_handle_factor)
    expected = tasks.handle_s[served] * factor[staffing.proficiency[agent, q] - 1]
    np.testing.assert_allclose(log.end_s[served] - log.start_s[served], expected)
    for a in range(n_agents):
        mine = np.flatnonzero(log.agent == a)
        starts, ends = log.start_s[mine], log.end_s[mine]
        order = np.argsort(starts)
        assert np.all(starts[order][1:] >= ends[order][:-1] - 1e-9), "one task at a time"
        for s in starts:
            assert any(lo <= s < hi or (s == lo) for lo, hi in staffing.duty[a]), "starts only on duty"
    assert log.agent_handled.sum() == served.sum()


def generator_study(replications: int) -> Study:
    data = generate(GeneratorConfig(days=7, horizon_days=7, agents=60, seed=7))
    truth = data.truth[~data.truth["is_history"]]
    day = date(2026, 1, 12)
    one_day = truth[truth["period_start"].dt.date == day]
    queues = tuple(dict.fromkeys(one_day["queue"]))
    volume = np.stack([one_day[one_day["queue"] == q]["expected_volume"].to_numpy() for q in queues], axis=1)
    aht = np.stack([one_day[one_day["queue"] == q]["expected_aht_s"].to_numpy() for q in queues], axis=1)
    start = one_day["period_start"].iloc[0].to_pydatetime()
    demand = Demand(queues, start, 900.0, volume, aht)
    full_shifts = [t for t in default_templates() if t.name.startswith("F")]
    roster = cyclic_roster(data.agents, full_shifts, day, "America/New_York")
    staffing = staffing_from_roster(roster, data.agents, queues, start)
    # a service desk: customers wait long, so SLA targets (10 min urgent) are really at stake
    return Study(
        demand, staffing, SimulationConfig(mean_patience_s=1800.0),
        (Scenario("greedy", routing="greedy"), Scenario("optimizer", routing="optimizer")),
        replications=replications, seed=3,
    )


def test_optimizer_q1_sla_attainment_is_at_least_greedys_on_a_generator_instance() -> None:
    study = generator_study(replications=8)
    results = compare(run_study(study, workers=1), "greedy").set_index(["scenario", "kpi"])
    q1 = results.loc[("optimizer", "sla_Q1")]
    greedy_q1 = results.loc[("greedy", "sla_Q1")]
    assert greedy_q1["mean"] < 0.99, "the instance is loaded enough for routing to matter"
    assert q1["diff_ci95_lo"] >= 0.0, q1.to_dict()
    assert q1["diff_vs_baseline"] > 0.0


@pytest.mark.parametrize("routing", ["greedy", "optimizer"])
def test_honoured_skill_plan_keeps_the_agent_to_the_planned_skill(routing: str) -> None:
    tasks = make_tasks([10.0, 20.0], [1, 0], [30.0, 30.0], [1e9, 1e9])
    plan = (((0.0, 100.0, 0), (100.0, 200.0, 1)),)
    staffing = make_staffing([[3, 3]], [[(0.0, 200.0)]])
    planned = Staffing(staffing.agent_ids, staffing.proficiency, staffing.primary, staffing.duty, plan)
    queues = ("q0", "q1")
    free = simulate(tasks, planned, SimulationConfig(routing=routing), queues=queues, horizon_s=200.0)
    kept = simulate(tasks, planned, SimulationConfig(routing=routing, honour_skill_plan=True), queues=queues,
                    horizon_s=200.0)
    batch = SimulationConfig().routing_policy.batch_interval_s if routing == "optimizer" else 0.0
    assert free.start_s[0] <= 10.0 + batch, "by default the agent serves any of its skills"
    assert kept.start_s[1] <= 20.0 + batch, "the q0 task is served inside the q0 block"
    assert 100.0 <= kept.start_s[0] <= 100.0 + batch, "the q1 task waits for the q1 block"
