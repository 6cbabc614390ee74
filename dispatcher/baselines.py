"""Baseline dispatch rules to compare the optimizer against (benchmark and what-if simulator).

- greedy: tasks by priority (layer, then best score), each takes its best-scoring agent with room;
- round-robin: tasks in priority/arrival order, agents taken in turn (Zammad/osTicket style);
- least-busy: each task goes to the eligible agent with the most spare capacity;
- longest-idle: tasks in priority/arrival order, each to the eligible agent free the longest (classic ACD).

Array functions share :func:`dispatcher.assign.assign_arrays`'s arguments and result type; the
domain-level functions take the same arguments as :func:`dispatcher.policy.assign`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from dispatcher.assign import ArrayAssignment, IntArray, _Pairs, _prepare
from dispatcher.domain import Task
from dispatcher.errors import InvalidInput
from dispatcher.policy import AgentState, Assignment, AssignmentPolicy, assign_with

_Chooser = Callable[[IntArray, NDArray[np.float64], IntArray, IntArray], int]


def _by_task(p: _Pairs) -> tuple[IntArray, IntArray]:
    """Pair order grouped by task (stable) and the CSR index pointer over tasks."""
    if len(p.task) > 1 and np.any(p.task[1:] < p.task[:-1]):
        order = np.argsort(p.task, kind="stable").astype(np.int64)
    else:
        order = np.arange(len(p.task), dtype=np.int64)
    indptr = np.zeros(p.n_tasks + 1, dtype=np.int64)
    np.cumsum(np.bincount(p.task, minlength=p.n_tasks), out=indptr[1:])
    return order, indptr


def _task_order(p: _Pairs, layer: IntArray | None, by_best_score: bool) -> IntArray:
    layers = layer if layer is not None else np.zeros(p.n_tasks, dtype=np.int64)
    if not by_best_score:
        return np.lexsort((np.arange(p.n_tasks), layers)).astype(np.int64)
    best = np.zeros(p.n_tasks)
    np.maximum.at(best, p.task, p.score)
    return np.lexsort((np.arange(p.n_tasks), -best, layers)).astype(np.int64)


def _run(
    p: _Pairs,
    layer: IntArray | None,
    choose: _Chooser,
    by_best_score: bool,
) -> ArrayAssignment:
    order, indptr = _by_task(p)
    left = p.capacity.copy()
    chosen = np.zeros(len(p.task), dtype=bool)
    room = int(left.sum())
    for t in _task_order(p, layer, by_best_score):
        if room == 0:
            break
        ks = order[indptr[t] : indptr[t + 1]]
        if len(ks) == 0:
            continue
        agents = p.agent[ks]
        ok = left[agents] > 0
        if not ok.any():
            continue
        ks, agents = ks[ok], agents[ok]
        pick = choose(agents, p.score[ks], left, ks)
        chosen[ks[pick]] = True
        left[agents[pick]] -= 1
        room -= 1
    task_agent = np.full(p.n_tasks, -1, dtype=np.int64)
    task_agent[p.task[chosen]] = p.agent[chosen]
    return ArrayAssignment(task_agent=task_agent, objective=float(p.score[chosen].sum()))


def _best_score(agents: IntArray, scores: NDArray[np.float64], left: IntArray, ks: IntArray) -> int:
    return int(np.lexsort((agents, -scores))[0])


def _most_spare(agents: IntArray, scores: NDArray[np.float64], left: IntArray, ks: IntArray) -> int:
    return int(np.lexsort((agents, -left[agents]))[0])


def greedy_arrays(
    task: object, agent: object, score: object, capacity: object, n_tasks: int, *, task_layer: object = None
) -> ArrayAssignment:
    """Tasks by priority (layer, then best score); each takes its best-scoring agent with room."""
    p = _prepare(task, agent, score, capacity, n_tasks, task_layer)
    layer = None if task_layer is None else np.asarray(task_layer, dtype=np.int64)
    return _run(p, layer, _best_score, by_best_score=True)


def least_busy_arrays(
    task: object, agent: object, score: object, capacity: object, n_tasks: int, *, task_layer: object = None
) -> ArrayAssignment:
    """Tasks in layer/arrival order; each goes to the eligible agent with the most spare capacity."""
    p = _prepare(task, agent, score, capacity, n_tasks, task_layer)
    layer = None if task_layer is None else np.asarray(task_layer, dtype=np.int64)
    return _run(p, layer, _most_spare, by_best_score=False)


def longest_idle_arrays(
    task: object,
    agent: object,
    score: object,
    capacity: object,
    n_tasks: int,
    *,
    task_layer: object = None,
    idle_s: object = None,
) -> ArrayAssignment:
    """Tasks in layer/arrival order; each goes to the eligible agent idle the longest (``idle_s`` per
    agent; ties: lower agent index)."""
    p = _prepare(task, agent, score, capacity, n_tasks, task_layer)
    layer = None if task_layer is None else np.asarray(task_layer, dtype=np.int64)
    idle = np.zeros(len(p.capacity)) if idle_s is None else np.asarray(idle_s, dtype=np.float64)
    if idle.shape != p.capacity.shape:
        raise InvalidInput(f"idle_s needs one value per agent ({len(p.capacity)}), got {idle.shape}", field="idle_s")

    def longest_idle(agents: IntArray, scores: NDArray[np.float64], left: IntArray, ks: IntArray) -> int:
        return int(np.lexsort((agents, -idle[agents]))[0])

    return _run(p, layer, longest_idle, by_best_score=False)


def round_robin_arrays(
    task: object,
    agent: object,
    score: object,
    capacity: object,
    n_tasks: int,
    *,
    task_layer: object = None,
    start_agent: int = 0,
) -> ArrayAssignment:
    """Tasks in layer/arrival order; agents taken in turn (the next eligible one after the last pick).
    ``start_agent`` carries the turn across batches (the last agent picked + 1)."""
    p = _prepare(task, agent, score, capacity, n_tasks, task_layer)
    layer = None if task_layer is None else np.asarray(task_layer, dtype=np.int64)
    n_agents = max(len(p.capacity), 1)
    cursor = [int(start_agent) % n_agents]

    def next_in_turn(agents: IntArray, scores: NDArray[np.float64], left: IntArray, ks: IntArray) -> int:
        distance = (agents - cursor[0]) % n_agents
        pick = int(np.lexsort((agents, distance))[0])
        cursor[0] = int(agents[pick]) + 1
        return pick

    return _run(p, layer, next_in_turn, by_best_score=False)


def greedy(
    tasks: Sequence[Task], agents: Sequence[AgentState], now: datetime, policy: AssignmentPolicy | None = None
) -> Assignment:
    return assign_with(greedy_arrays, tasks, agents, now, policy)


def round_robin(
    tasks: Sequence[Task], agents: Sequence[AgentState], now: datetime, policy: AssignmentPolicy | None = None
) -> Assignment:
    return assign_with(round_robin_arrays, tasks, agents, now, policy)


def least_busy(
    tasks: Sequence[Task], agents: Sequence[AgentState], now: datetime, policy: AssignmentPolicy | None = None
) -> Assignment:
    return assign_with(least_busy_arrays, tasks, agents, now, policy)
