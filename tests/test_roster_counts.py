"""Stage 1 of rostering: the count LP and its dive to integer counts; break placement for new shifts."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.roster import instance
from dispatcher.roster import counts as count_model
from dispatcher.roster.explain import precheck
from dispatcher.roster.grid import build_candidates, build_groups
from dispatcher.roster.problem import RosterProblem
from dispatcher.roster.rules import COUNT_RULES
from dispatcher.roster.rules.breaks import best_offsets


def _model(problem: RosterProblem) -> count_model.CountModel:
    candidates = build_candidates(problem)
    groups = build_groups(problem, candidates, precheck(problem, candidates).lowered_minimum)
    return count_model.build(problem, candidates, groups, COUNT_RULES, problem.requirements.required)


@pytest.fixture(scope="module")
def week() -> RosterProblem:
    problem, _ = instance(24, seed=5)
    return problem


def _lp_with_counts(model: count_model.CountModel, counts: dict[tuple[int, int], int]) -> tuple[int, float]:
    """Fix every count and solve what is left (breaks, skill allocation): status and objective."""
    for key, var in model.n.items():
        k = counts.get(key, 0)
        var.SetBounds(k, k)
    model.solver.SetTimeLimit(60_000)
    status = model.solver.Solve()
    return status, model.solver.Objective().Value() + model.constant


def test_dived_counts_are_integral_and_keep_every_group_rule(week: RosterProblem) -> None:
    model = _model(week)
    solution = count_model.solve(model, time_limit_s=30.0)
    assert solution.optimal
    assert solution.counts and all(isinstance(k, int) and k > 0 for k in solution.counts.values())
    status, objective = _lp_with_counts(_model(week), solution.counts)
    assert status == count_model.pywraplp.Solver.OPTIMAL  # contracts, rest and day rows all hold
    assert objective >= solution.lp_bound - 1e-6


def test_break_goes_where_the_slack_is_largest_and_skips_periods_off_the_grid(week: RosterProblem) -> None:
    candidates = build_candidates(week)
    shift = next(c for c in candidates if len(c.breaks) == 1 and c.p0 > 0)
    slots = shift.breaks[0]
    slack = np.zeros(week.requirements.n_periods, dtype=np.int64)
    target = slots.offsets[len(slots.offsets) // 2]
    slack[shift.p0 + target:shift.p0 + target + slots.length] = 5
    assert best_offsets(shift, slack) == [target]
    assert best_offsets(shift, slack[: shift.p0 + slots.offsets[0]]) == [slots.offsets[0]]  # all off the grid
