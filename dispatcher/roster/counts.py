"""Stage 1, the count model: how many agents of each group work each candidate shift (HiGHS MIP).

Data → variables → constraints → objective → solve. Every rule module adds its constraints and
penalty terms through :class:`CountModel`. The model relaxes the named roster (group-level sums of
the named rules), so its LP relaxation is a valid lower bound on any roster's objective.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter

import numpy as np
import numpy.typing as npt
from ortools.linear_solver import pywraplp

from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.problem import RosterProblem

Term = tuple[pywraplp.Variable, float]


@dataclass(slots=True)
class CountModel:
    problem: RosterProblem
    candidates: Sequence[Candidate]
    groups: Sequence[Group]
    solver: pywraplp.Solver
    required: npt.NDArray[np.int64]
    """Requirement still to cover (pinned shifts taken off)."""
    n: dict[tuple[int, int], pywraplp.Variable] = field(default_factory=dict)
    """(group, candidate) → number of the group's agents working it."""
    on_duty: dict[tuple[int, int], list[Term]] = field(default_factory=lambda: defaultdict(list))
    """(group, period) → terms summing to the group's agents at work (not on a break)."""
    objective: list[Term] = field(default_factory=list)
    constant: float = 0.0
    """Objective part no decision can change (e.g. periods no template covers)."""
    extras: dict[str, object] = field(default_factory=dict)
    """Rule-specific variables (e.g. break starts) for the later stages."""

    def add_row(self, terms: Sequence[Term], lo: float, hi: float) -> None:
        row = self.solver.RowConstraint(lo, hi, "")
        for var, coef in terms:
            row.SetCoefficient(var, row.GetCoefficient(var) + coef)


Rule = Callable[[CountModel], None]


@dataclass(frozen=True, slots=True)
class CountSolution:
    counts: dict[tuple[int, int], int]
    """(group, candidate) → agents, only entries > 0."""
    break_share: dict[tuple[int, int, int], list[float]]
    """(group, candidate, break rule) → how many start the break at each allowed offset."""
    objective: float
    lp_bound: float
    mip_bound: float
    optimal: bool
    seconds_lp: float
    seconds_mip: float


def build(problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
          rules: Sequence[Rule], required: npt.NDArray[np.int64], constant: float = 0.0) -> CountModel:
    solver = pywraplp.Solver.CreateSolver("HIGHS")
    if solver is None:  # pragma: no cover - the ortools wheel bundles HiGHS
        raise RuntimeError("HiGHS is not available in this OR-Tools build")
    solver.SuppressOutput()
    model = CountModel(problem, candidates, groups, solver, required, constant=constant)
    by_index = {c.index: c for c in candidates}
    for g in groups:
        for ci in g.allowed:
            c = by_index[ci]
            var = solver.NumVar(0.0, float(g.size), f"n_{g.index}_{ci}")
            model.n[g.index, ci] = var
            for p in range(max(c.p0, 0), min(c.p1, problem.requirements.n_periods)):
                model.on_duty[g.index, p].append((var, 1.0))
    for rule in rules:
        rule(model)
    objective = solver.Objective()
    for var, coef in model.objective:
        objective.SetCoefficient(var, objective.GetCoefficient(var) + coef)
    objective.SetMinimization()
    return model


def solve(model: CountModel, *, time_limit_s: float, workers: int = 1, mip_gap: float = 0.002) -> CountSolution:
    """LP relaxation first (the bound), then the MIP with integer counts under the time limit."""
    solver = model.solver
    solver.SetNumThreads(max(workers, 1))
    t0 = perf_counter()
    status = solver.Solve()
    seconds_lp = perf_counter() - t0
    if status != pywraplp.Solver.OPTIMAL:  # pragma: no cover - the model always has a solution
        raise RuntimeError(f"count LP ended with status {status}")
    lp_bound = solver.Objective().Value() + model.constant
    lp_counts = {key: var.solution_value() for key, var in model.n.items()}
    for var in model.n.values():
        var.SetInteger(True)
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, mip_gap)
    solver.SetTimeLimit(max(int(time_limit_s * 1000), 50))
    t1 = perf_counter()
    status = solver.Solve(params)
    seconds_mip = perf_counter() - t1
    if status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        counts = {key: int(round(var.solution_value())) for key, var in model.n.items()}
        objective = solver.Objective().Value() + model.constant
        mip_bound = max(solver.Objective().BestBound() + model.constant, lp_bound)
        breaks = _break_share(model)
    else:  # no incumbent in time: round the LP down (keeps every <= row) and let stage 2 repair
        counts = {key: int(v + 1e-6) for key, v in lp_counts.items()}
        objective, mip_bound, breaks = float("nan"), lp_bound, {}
    return CountSolution(
        counts={k: v for k, v in counts.items() if v > 0},
        break_share=breaks,
        objective=objective,
        lp_bound=lp_bound,
        mip_bound=mip_bound,
        optimal=status == pywraplp.Solver.OPTIMAL,
        seconds_lp=seconds_lp,
        seconds_mip=seconds_mip,
    )


def _break_share(model: CountModel) -> dict[tuple[int, int, int], list[float]]:
    starts = model.extras.get("break_starts")
    if not isinstance(starts, dict):
        return {}
    return {key: [v.solution_value() for v in vars_] for key, vars_ in starts.items()}
