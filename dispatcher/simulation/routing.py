"""Scores for batch optimizer routing: who should take which waiting task right now.

Priority by quadrant dominates (Q1 before Q2 before Q3 before Q4), waiting time ages a task up,
then skill proficiency and primary ownership decide among agents. A maximum-weight matching over
these scores is the batch assignment, solved by the live optimizer's exact array core
(``dispatcher.assign.assign_arrays``); pairs an agent cannot serve are not offered to it.
"""

from __future__ import annotations

import numpy as np

from dispatcher.assign import assign_arrays
from dispatcher.simulation.model import BoolArray, FloatArray, IntArray

RANK_WEIGHT = np.array([4000.0, 3000.0, 2000.0, 1000.0])
AGEING_PER_MIN = 10.0
PROFICIENCY_WEIGHT = 20.0
PRIMARY_WEIGHT_IMPORTANT = 60.0
PRIMARY_WEIGHT_OTHER = 15.0
FORBIDDEN = -1e9


def batch_scores(
    rank: IntArray, wait_s: FloatArray, important: BoolArray, proficiency: IntArray, primary: BoolArray
) -> FloatArray:
    """Score of each (task row, agent column); ``proficiency`` and ``primary`` are tasks × agents."""
    task_part = RANK_WEIGHT[rank] + AGEING_PER_MIN * wait_s / 60.0
    primary_weight = np.where(important, PRIMARY_WEIGHT_IMPORTANT, PRIMARY_WEIGHT_OTHER)
    score = task_part[:, None] + PROFICIENCY_WEIGHT * proficiency + primary_weight[:, None] * primary
    out: FloatArray = np.where(proficiency > 0, score, FORBIDDEN)
    return out


def best_matching(score: FloatArray) -> list[tuple[int, int]]:
    """Maximum-weight matching of rows (tasks) to columns (agents, one task each), forbidden pairs left out."""
    feasible = score > FORBIDDEN / 2
    quick = _row_maxima_matching(score)
    if quick is not None:
        return quick
    rows, cols = np.nonzero(feasible)
    result = assign_arrays(
        rows, cols, score[rows, cols], np.ones(score.shape[1], dtype=np.int64), score.shape[0]
    )
    chosen = np.flatnonzero(result.task_agent >= 0)
    return [(int(t), int(result.task_agent[t])) for t in chosen]


def _row_maxima_matching(score: FloatArray) -> list[tuple[int, int]] | None:
    """When every task can take a distinct agent among its own best-scoring ones, that is optimal
    (it reaches the sum of row maxima); the common case of a few tasks and many idle agents."""
    row_max = score.max(axis=1)
    used = np.zeros(score.shape[1], dtype=np.bool_)
    pairs = []
    for t in np.argsort(-row_max, kind="stable").tolist():
        if row_max[t] <= FORBIDDEN / 2:
            continue
        free_best = (score[t] == row_max[t]) & ~used
        agent = int(free_best.argmax())
        if not free_best[agent]:
            return None
        used[agent] = True
        pairs.append((t, agent))
    return pairs
