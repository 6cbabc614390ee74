"""Array core of live assignment: exactness against brute force, invariants, bad input."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.assign import ArrayAssignment, assign_arrays, assign_arrays_plain
from dispatcher.errors import InvalidInput

SOLVERS = [assign_arrays, assign_arrays_plain]


@dataclass
class Instance:
    task: np.ndarray
    agent: np.ndarray
    score: np.ndarray
    capacity: np.ndarray
    n_tasks: int
    layer: np.ndarray | None


@st.composite
def instances(draw: st.DrawFn, max_tasks: int = 6, max_agents: int = 4, layered: bool | None = None) -> Instance:
    n_tasks = draw(st.integers(0, max_tasks))
    n_agents = draw(st.integers(1, max_agents))
    cells = [(t, a) for t in range(n_tasks) for a in range(n_agents)]
    mask = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    pairs = [c for c, keep in zip(cells, mask, strict=True) if keep]
    # Scores from a small integer grid make ties common, which is where solvers go wrong.
    scores = draw(st.lists(st.integers(1, 12), min_size=len(pairs), max_size=len(pairs)))
    capacity = draw(st.lists(st.integers(0, 3), min_size=n_agents, max_size=n_agents))
    use_layers = draw(st.booleans()) if layered is None else layered
    layer = (
        np.array(draw(st.lists(st.integers(0, 3), min_size=n_tasks, max_size=n_tasks)), dtype=np.int64)
        if use_layers
        else None
    )
    return Instance(
        task=np.array([p[0] for p in pairs], dtype=np.int64),
        agent=np.array([p[1] for p in pairs], dtype=np.int64),
        score=np.array(scores, dtype=np.float64) / 4.0,
        capacity=np.array(capacity, dtype=np.int64),
        n_tasks=n_tasks,
        layer=layer,
    )


def solve(solver: object, inst: Instance) -> ArrayAssignment:
    assert callable(solver)
    result = solver(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)
    assert isinstance(result, ArrayAssignment)
    return result


def brute_force_key(inst: Instance) -> tuple[tuple[int, ...], float]:
    """Best (served count per layer, total score) over every feasible assignment, by enumeration."""
    n_layers = 4
    options = [[None, *np.flatnonzero(inst.task == t).tolist()] for t in range(inst.n_tasks)]
    best: tuple[tuple[int, ...], float] = ((0,) * n_layers, 0.0)
    for combo in itertools.product(*options):
        used = [k for k in combo if k is not None]
        load = np.bincount(inst.agent[used], minlength=len(inst.capacity))
        if np.any(load > inst.capacity):
            continue
        counts = [0] * n_layers
        if inst.layer is not None:
            for k in used:
                counts[int(inst.layer[inst.task[k]])] += 1
        key = (tuple(counts), float(inst.score[used].sum()))
        best = max(best, key)
    return best


def key_of(inst: Instance, result: ArrayAssignment) -> tuple[tuple[int, ...], float]:
    counts = [0] * 4
    total = 0.0
    for t, a in enumerate(result.task_agent):
        if a < 0:
            continue
        if inst.layer is not None:
            counts[int(inst.layer[t])] += 1
        k = np.flatnonzero((inst.task == t) & (inst.agent == a))
        total += float(inst.score[k].max())
    return tuple(counts), total


def check_feasible(inst: Instance, result: ArrayAssignment) -> None:
    assert result.task_agent.shape == (inst.n_tasks,)
    eligible = set(zip(inst.task.tolist(), inst.agent.tolist(), strict=True))
    for t, a in enumerate(result.task_agent.tolist()):
        if a >= 0:
            assert (t, a) in eligible, f"task {t} given to ineligible agent {a}"
    served = result.task_agent[result.task_agent >= 0]
    load = np.bincount(served, minlength=len(inst.capacity))
    assert np.all(load <= inst.capacity)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
@given(inst=instances())
@settings(max_examples=150, deadline=None)
def test_assignment_is_feasible_and_equals_brute_force_optimum(solver: object, inst: Instance) -> None:
    result = solve(solver, inst)
    check_feasible(inst, result)
    counts, total = key_of(inst, result)
    best_counts, best_total = brute_force_key(inst)
    assert counts == best_counts
    assert total == pytest.approx(best_total)
    assert result.objective == pytest.approx(total)


@given(inst=instances(max_tasks=8, max_agents=5))
@settings(max_examples=150, deadline=None)
def test_no_unassigned_task_has_an_eligible_agent_with_spare_capacity(inst: Instance) -> None:
    result = solve(assign_arrays, inst)
    served = result.task_agent[result.task_agent >= 0]
    left = inst.capacity - np.bincount(served, minlength=len(inst.capacity))
    for t, a in zip(inst.task.tolist(), inst.agent.tolist(), strict=True):
        if result.task_agent[t] < 0:
            assert left[a] == 0, f"task {t} waits while agent {a} has room"


@given(inst=instances(max_tasks=8, max_agents=5, layered=True))
@settings(max_examples=150, deadline=None)
def test_higher_layer_task_never_waits_while_its_agent_serves_a_lower_layer(inst: Instance) -> None:
    assert inst.layer is not None
    result = solve(assign_arrays, inst)
    for t, a in zip(inst.task.tolist(), inst.agent.tolist(), strict=True):
        if result.task_agent[t] >= 0:
            continue
        held = np.flatnonzero(result.task_agent == a)
        assert all(inst.layer[h] <= inst.layer[t] for h in held)


@given(inst=instances(max_tasks=10, max_agents=5), seed=st.integers(0, 2**16))
@settings(max_examples=100, deadline=None)
def test_result_is_deterministic_and_pair_order_does_not_change_the_optimum(inst: Instance, seed: int) -> None:
    first = solve(assign_arrays, inst)
    again = solve(assign_arrays, inst)
    assert np.array_equal(first.task_agent, again.task_agent)
    perm = np.random.default_rng(seed).permutation(len(inst.task))
    shuffled = Instance(inst.task[perm], inst.agent[perm], inst.score[perm], inst.capacity, inst.n_tasks, inst.layer)
    counts, total = key_of(shuffled, solve(assign_arrays, shuffled))
    first_counts, first_total = key_of(inst, first)
    assert counts == first_counts
    assert total == pytest.approx(first_total)


def test_one_agent_with_capacity_two_takes_the_two_best_tasks() -> None:
    result = assign_arrays([0, 1, 2], [0, 0, 0], [1.0, 5.0, 3.0], [2], 3)
    assert result.task_agent.tolist() == [-1, 0, 0]
    assert result.objective == 8.0


def test_contended_agent_goes_where_the_total_is_largest() -> None:
    # Agent 0 is best for both tasks, but only task 0 has an alternative worth using.
    result = assign_arrays([0, 0, 1], [0, 1, 0], [10.0, 9.0, 8.0], [1, 1], 2)
    assert result.task_agent.tolist() == [1, 0]
    assert result.objective == 17.0


def test_layer_zero_task_is_served_even_when_a_lower_layer_scores_higher() -> None:
    result = assign_arrays([0, 1], [0, 0], [1.0, 100.0], [1], 2, task_layer=[0, 1])
    assert result.task_agent.tolist() == [0, -1]


def test_without_layers_the_higher_score_wins() -> None:
    result = assign_arrays([0, 1], [0, 0], [1.0, 100.0], [1], 2)
    assert result.task_agent.tolist() == [-1, 0]


def test_empty_and_zero_capacity_inputs_leave_everything_unassigned() -> None:
    assert assign_arrays([], [], [], [], 0).task_agent.tolist() == []
    result = assign_arrays([0, 1], [0, 0], [1.0, 2.0], [0], 3)
    assert result.task_agent.tolist() == [-1, -1, -1]
    assert result.objective == 0.0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (([0, 1], [0], [1.0, 1.0], [1], 2), "agent"),
        (([0], [0], [1.0, 2.0], [1], 1), "score"),
        (([0], [0], [float("nan")], [1], 1), "score"),
        (([0], [0], [0.0], [1], 1), "score"),
        (([0], [0], [1.0], [-1], 1), "capacity"),
        (([0], [3], [1.0], [1], 1), "agent"),
        (([5], [0], [1.0], [1], 2), "task"),
        (([0], [0], [1.0], [1], -1), "n_tasks"),
        (([0.5], [0], [1.0], [1], 1), "task"),
    ],
)
def test_bad_input_raises_invalid_input_naming_the_argument(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        assign_arrays(*args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_bad_task_layer_is_rejected() -> None:
    with pytest.raises(InvalidInput) as err:
        assign_arrays([0], [0], [1.0], [1], 2, task_layer=[0])
    assert err.value.field == "task_layer"


def test_serving_one_more_top_layer_task_beats_any_score_gain_along_the_swap_chain() -> None:
    # Top-layer X fits only agent 0; top-layer Y scores 10 on agent 0 but can move to agent 1, whose
    # own lower-layer task Z scores 10. Serving X and Y beats serving Y and Z, whatever the scores.
    task = [0, 1, 1, 2]
    agent = [0, 0, 1, 1]
    score = [1.0, 10.0, 1.0, 10.0]
    for solver in SOLVERS:
        result = solver(task, agent, score, [1, 1], 3, task_layer=[0, 0, 1])
        assert result.task_agent.tolist() == [0, 1, -1]
