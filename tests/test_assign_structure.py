"""The structure shortcuts of assign_arrays (task classes, column pruning) are exact: each path is run
on its own and compared with brute force and with the plain min-cost flow on all arcs."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dispatcher.assign as core
from dispatcher.assign import ArrayAssignment, assign_arrays, assign_arrays_plain
from tests.test_assign import Instance, brute_force_key, check_feasible, key_of


@st.composite
def policy_like(draw: st.DrawFn, max_tasks: int = 30, max_agents: int = 6, shuffled: bool = False) -> Instance:
    """Scores = task priority + agent/skill term (+ a few sticky pairs), eligibility by skill and a
    shift guard: many tasks share agents and score profile, as in live dispatch."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_tasks = draw(st.integers(1, max_tasks))
    n_agents = draw(st.integers(1, max_agents))
    n_skills = draw(st.integers(1, 3))
    holds = rng.random((n_agents, n_skills)) < 0.6
    task_skill = rng.integers(0, n_skills, n_tasks)
    handle = rng.integers(0, 2, n_tasks)
    time_left = rng.integers(0, 2, n_agents)
    eligible = holds.T[task_skill] & (handle[:, None] <= time_left[None, :] + 1 - (rng.random(n_agents) < 0.3))
    t, a = np.nonzero(eligible)
    priority = rng.integers(1, 5, n_tasks)
    agent_term = rng.integers(0, 4, (n_agents, n_skills))
    sticky = np.where(rng.random(n_tasks) < 0.15, rng.integers(0, n_agents, n_tasks), -1)
    score = (priority[t] + agent_term[a, task_skill[t]] + 2 * (sticky[t] == a)).astype(np.float64) / 4.0
    layer = rng.integers(0, 4, n_tasks) if draw(st.booleans()) else None
    capacity = rng.integers(0, 4, n_agents)
    if shuffled:
        perm = rng.permutation(len(t))
        t, a, score = t[perm], a[perm], score[perm]
    return Instance(t.astype(np.int64), a.astype(np.int64), score, capacity, n_tasks, layer)


def prepared(inst: Instance) -> core._Pairs:
    return core._prepare(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, inst.layer)


def by_classes(inst: Instance) -> ArrayAssignment:
    p = prepared(inst)
    if len(p.task) == 0:
        return assign_arrays_plain(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks)
    lay = core._layout(p)
    assert lay is not None
    _, profile = core._task_hashes(lay, len(p.capacity))
    classes = core._classes(lay, profile)
    assert classes is not None
    return core._solve_classes(p, lay, classes)


def by_pruning(inst: Instance) -> ArrayAssignment:
    p = prepared(inst)
    if len(p.task) == 0:
        return assign_arrays_plain(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks)
    lay = core._layout(p)
    assert lay is not None
    signature, _ = core._task_hashes(lay, len(p.capacity))
    kept = core._prune_columns(p, lay, signature)
    return core._solve_plain(p if kept is None else core._subset(p, kept))


def always_structured(inst: Instance) -> ArrayAssignment:
    with mock.patch.object(core, "_SMALL", 0):
        return assign_arrays(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)


PATHS: list[Callable[[Instance], ArrayAssignment]] = [by_classes, by_pruning, always_structured]


@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__)
@given(inst=policy_like(max_tasks=7, max_agents=3))
@settings(max_examples=100, deadline=None)
def test_structured_path_equals_brute_force_on_tiny_instances(
    path: Callable[[Instance], ArrayAssignment], inst: Instance
) -> None:
    result = path(inst)
    check_feasible(inst, result)
    counts, total = key_of(inst, result)
    best_counts, best_total = brute_force_key(inst)
    assert counts == best_counts
    assert total == pytest.approx(best_total)
    assert result.objective == pytest.approx(total)


@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__)
@given(inst=policy_like(max_tasks=60, max_agents=8, shuffled=True))
@settings(max_examples=60, deadline=None)
def test_structured_path_equals_the_plain_flow_on_larger_instances(
    path: Callable[[Instance], ArrayAssignment], inst: Instance
) -> None:
    result = path(inst)
    check_feasible(inst, result)
    plain = assign_arrays_plain(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)
    counts, total = key_of(inst, result)
    plain_counts, plain_total = key_of(inst, plain)
    assert counts == plain_counts
    assert total == pytest.approx(plain_total)


def test_interchangeable_tasks_collapse_into_few_classes() -> None:
    # 40 tasks of one skill, same agents, gain = priority + agent term: one class.
    priority = np.arange(40, dtype=np.float64)
    agent_term = np.array([0.0, 2.0, 5.0])
    t, a = np.nonzero(np.ones((40, 3), dtype=bool))
    p = core._prepare(t, a, 1.0 + priority[t] + agent_term[a], np.array([1, 2, 3]), 40, None)
    lay = core._layout(p)
    assert lay is not None
    classes = core._classes(lay, core._task_hashes(lay, 3)[1])
    assert classes is not None
    assert len(classes.rep_start) == 1
    result = assign_arrays(t, a, 1.0 + priority[t] + agent_term[a], [1, 2, 3], 40)
    # Six slots: the six best tasks are served.
    assert sorted(np.flatnonzero(result.task_agent >= 0).tolist()) == list(range(34, 40))


def test_column_pruning_keeps_only_what_a_group_can_use() -> None:
    rng = np.random.default_rng(3)
    t, a = np.nonzero(np.ones((50, 4), dtype=bool))
    score = rng.uniform(1, 100, len(t))
    p = core._prepare(t, a, score, np.array([1, 1, 1, 1]), 50, None)
    lay = core._layout(p)
    assert lay is not None
    kept = core._prune_columns(p, lay, core._task_hashes(lay, 4)[0])
    assert kept is not None
    assert len(kept) == 4 * 4  # each agent keeps its 4 best tasks (group capacity 4)


@given(inst=policy_like(max_tasks=40, max_agents=6))
@settings(max_examples=40, deadline=None)
def test_hash_collisions_are_caught_and_the_result_stays_optimal(inst: Instance) -> None:
    zero = np.zeros(1, dtype=np.uint64)
    with mock.patch.object(core, "_hash_keys", lambda n, salt: np.zeros(max(n, 1), dtype=np.uint64) | zero):
        result = always_structured(inst)
    plain = assign_arrays_plain(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)
    assert key_of(inst, result)[0] == key_of(inst, plain)[0]
    assert key_of(inst, result)[1] == pytest.approx(key_of(inst, plain)[1])


def test_repeated_pairs_fall_back_to_the_plain_graph_and_take_the_better_arc() -> None:
    with mock.patch.object(core, "_SMALL", 0):
        result = assign_arrays([0, 0, 1], [0, 0, 0], [1.0, 3.0, 2.0], [1], 2)
    assert result.task_agent.tolist() == [0, -1]
    assert result.objective == 3.0


def test_policy_scores_collapse_into_classes_because_terms_are_quantised() -> None:
    from datetime import timedelta

    from dispatcher.domain import Quadrant
    from dispatcher.policy import AssignmentPolicy
    from tests.test_policy import NOW, agent, task

    quadrants = list(Quadrant)
    tasks = [task(f"t{i}", quadrants[i % 4], age_min=i * 0.37, skill=("billing", "tech")[i % 2]) for i in range(80)]
    agents = [
        agent(
            f"a{k}",
            {"billing": 1 + k % 5, "tech": 5 - k % 5},
            primary={"billing"},
            capacity=2,
            handled_today_s=1234.5 * k,
        )
        for k in range(6)
    ]
    scored = AssignmentPolicy().score_pairs(tasks, agents, NOW + timedelta(minutes=1))
    p = core._prepare(scored.task, scored.agent, scored.score, np.full(6, 2), len(tasks), None)
    lay = core._layout(p)
    assert lay is not None and lay.order is None  # score_pairs already gives task-major pairs
    classes = core._classes(lay, core._task_hashes(lay, 6)[1])
    assert classes is not None
    assert len(classes.rep_start) <= 4  # skill x (important or not), whatever each task's urgency
