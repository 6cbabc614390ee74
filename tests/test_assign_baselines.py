"""Baseline dispatch rules: feasible, each behaves as its name says, and never beat the optimizer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from dispatcher.assign import assign_arrays
from dispatcher.baselines import (
    greedy,
    greedy_arrays,
    least_busy,
    least_busy_arrays,
    round_robin,
    round_robin_arrays,
)
from dispatcher.domain import Quadrant
from dispatcher.errors import InvalidInput
from dispatcher.policy import AssignmentPolicy, assign
from tests.test_assign import Instance, check_feasible, instances, key_of
from tests.test_policy import NOW, agent, task

RULES = [greedy_arrays, least_busy_arrays, round_robin_arrays]


@pytest.mark.parametrize("rule", RULES, ids=lambda f: f.__name__)
@given(inst=instances(max_tasks=10, max_agents=5))
@settings(max_examples=60, deadline=None)
def test_baseline_is_feasible_maximal_and_never_better_than_the_optimum(rule: object, inst: Instance) -> None:
    assert callable(rule)
    result = rule(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)
    check_feasible(inst, result)
    served = result.task_agent[result.task_agent >= 0]
    left = inst.capacity - np.bincount(served, minlength=len(inst.capacity))
    for t, a in zip(inst.task.tolist(), inst.agent.tolist(), strict=True):
        if result.task_agent[t] < 0:
            assert left[a] == 0
    best = assign_arrays(inst.task, inst.agent, inst.score, inst.capacity, inst.n_tasks, task_layer=inst.layer)
    assert key_of(inst, result) <= key_of(inst, best)
    assert result.objective == pytest.approx(key_of(inst, result)[1])


def test_greedy_gives_the_first_task_its_best_agent_even_when_that_blocks_another() -> None:
    # Task 0 (best score 10) takes agent 0, the only agent task 1 could use; the optimum moves task 0.
    result = greedy_arrays([0, 0, 1], [0, 1, 0], [10.0, 9.0, 8.0], [1, 1], 2)
    assert result.task_agent.tolist() == [0, -1]
    assert assign_arrays([0, 0, 1], [0, 1, 0], [10.0, 9.0, 8.0], [1, 1], 2).task_agent.tolist() == [1, 0]


def test_round_robin_takes_agents_in_turn() -> None:
    t, a = np.nonzero(np.ones((6, 3), dtype=bool))
    result = round_robin_arrays(t, a, np.ones(len(t)), [2, 2, 2], 6)
    assert result.task_agent.tolist() == [0, 1, 2, 0, 1, 2]


def test_least_busy_sends_work_to_the_agent_with_most_room() -> None:
    t, a = np.nonzero(np.ones((3, 2), dtype=bool))
    result = least_busy_arrays(t, a, np.ones(len(t)), [1, 3], 3)
    assert result.task_agent.tolist() == [1, 1, 0]


def test_domain_baselines_serve_the_same_eligible_pairs_as_the_optimizer() -> None:
    tasks = [task(f"t{i}", Quadrant.Q2, age_min=i) for i in range(4)]
    agents = [agent("a", {"billing": 5}, capacity=2), agent("b", {"billing": 1}, capacity=1)]
    best = assign(tasks, agents, NOW)
    for rule in (greedy, round_robin, least_busy):
        result = rule(tasks, agents, NOW)
        assert len(result.pairs) == len(best.pairs) == 3
        assert result.objective <= best.objective + 1e-9
        assert result.explain(result.pairs[0][0])["assigned_to"] == result.pairs[0][1]


def test_baselines_reject_bad_input_like_the_optimizer() -> None:
    with pytest.raises(InvalidInput) as err:
        greedy_arrays([0], [0], [float("nan")], [1], 1)
    assert err.value.field == "score"
    with pytest.raises(InvalidInput):
        greedy([task("t", skill="legal")], [agent("a")], NOW, AssignmentPolicy(skills=frozenset({"billing"})))


def test_round_robin_turn_can_continue_from_the_previous_batch() -> None:
    t, a = np.nonzero(np.ones((2, 3), dtype=bool))
    result = round_robin_arrays(t, a, np.ones(len(t)), [1, 1, 1], 2, start_agent=2)
    assert result.task_agent.tolist() == [2, 0]
