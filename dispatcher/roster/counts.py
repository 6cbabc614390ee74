"""Stage 1, the count model: how many agents of each group work each candidate shift (LP + diving).

Data → variables → constraints → objective → solve. Every rule module adds its constraints and
penalty terms through :class:`CountModel`. The model relaxes the named roster (group-level sums of
the named rules), so its LP relaxation is a valid lower bound on any roster's objective.
"""

from __future__ import annotations

import math
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

LP_PARAMETERS = "use_preprocessing: false"
DIVE_PARAMETERS = "use_preprocessing: false use_dual_simplex: true"
"""GLOP without presolve keeps its basis between solves, so the dive's re-solves after bound changes
start from the last basis: measured at 100 agents, 0.02-0.08 s per re-solve against 4-6 s with
presolve (the first LP takes about 2 s either way)."""
DIVE_CHUNK = 2
"""Each dive step fixes the 1/DIVE_CHUNK most nearly integral of the fractional counts."""
LP_SOLVER = "GLOP"
"""Measured on the 100-agent week on this 2-core box: GLOP 3.2 s, PDLP 5.1 s, HiGHS 6-15 s for the LP;
HiGHS MIP found no integer point within 10 s — so stage 1 is an LP, dived to integers (``dive``).
Also measured (100 agents): the counts bounded to floor/ceil of the LP point as a MIP through
MPSolver's CP-SAT — 490-540 in 3-8 s without auxiliary-skill pricing, 1800-2800 with it; HiGHS and
SCIP found no integer point in 8-15 s. Diving stays. Pricing auxiliary-skill work in the LP (coverage
split per primary skills) about doubles its size (LP 0.9 → 2.0 s at 100 agents) and, in one benchmark
run against the previous model, took the gap to the bound from 9.6% to 8.7% (100 agents, 15 s) and
from 11.4% to 7.8% (300 agents, 60 s); the auxiliary term fell from ~16 to ~5 points at 100 agents."""


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
    skill_sets: list[frozenset[str]] = field(default_factory=list)
    """Skill sets of the groups, one entry per distinct (skills, primary skills): coverage only needs
    how many of each are at work (primary skills price auxiliary work)."""
    primary_sets: list[frozenset[str]] = field(default_factory=list)
    """Primary skills, parallel to ``skill_sets``."""
    set_of_group: dict[int, int] = field(default_factory=dict)
    on_duty: dict[tuple[int, int], list[Term]] = field(default_factory=lambda: defaultdict(list))
    """(skill set, period) → terms summing to the set's agents at work (not on a break)."""
    objective: list[Term] = field(default_factory=list)
    constant: float = 0.0
    """Objective part no decision can change (e.g. periods no template covers)."""
    break_starts: dict[tuple[int, int], list[pywraplp.Variable]] = field(default_factory=dict)
    """(candidate, break rule) → agents starting that break at each allowed offset (``rules/breaks.py``)."""
    on_break: dict[int, list[Term]] = field(default_factory=lambda: defaultdict(list))
    """Period → terms summing to the agents on a break then (``rules/breaks.py``; read by coverage)."""
    exact_breaks: bool = False
    """Break starts per skill set (an agent's break leaves their own skills), not all sets together:
    exact rather than relaxed, and a bigger model (the named MIP, ``named_mip.py``)."""
    integer: bool = False
    """Counts and break starts are integer variables (a MIP) rather than continuous (the LP)."""
    set_break_starts: dict[tuple[int, int, int], list[pywraplp.Variable]] = field(default_factory=dict)
    """(skill set, candidate, break rule) → break starts per allowed offset, with ``exact_breaks``."""
    set_on_break: dict[tuple[int, int], list[Term]] = field(default_factory=lambda: defaultdict(list))
    """(skill set, period) → that set's agents on a break, with ``exact_breaks``."""

    def count_var(self, ub: float, name: str) -> pywraplp.Variable:
        if self.integer:
            return self.solver.IntVar(0.0, ub, name)
        return self.solver.NumVar(0.0, ub, name)

    def add_row(self, terms: Sequence[Term], lo: float, hi: float) -> None:
        row = self.solver.RowConstraint(lo, hi, "")
        for var, coef in terms:
            row.SetCoefficient(var, row.GetCoefficient(var) + coef)


Rule = Callable[[CountModel], None]


@dataclass(frozen=True, slots=True)
class CountSolution:
    counts: dict[tuple[int, int], int]
    """(group, candidate) → agents, only entries > 0."""
    break_share: dict[tuple[int, int], list[float]]
    """(candidate, break rule) → how many start the break at each allowed offset (all skill sets)."""
    lp_objective: float
    lp_bound: float
    """LP optimum (0 when the LP hit its time limit: then no bound is known)."""
    optimal: bool
    seconds_lp: float


def build(problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
          rules: Sequence[Rule], required: npt.NDArray[np.int64], constant: float = 0.0, *,
          solver_name: str = LP_SOLVER, integer: bool = False, exact_breaks: bool = False) -> CountModel:
    solver = pywraplp.Solver.CreateSolver(solver_name)
    if solver is None:  # pragma: no cover - the ortools wheel bundles GLOP and HiGHS
        raise RuntimeError(f"{solver_name} is not available in this OR-Tools build")
    solver.SuppressOutput()
    model = CountModel(problem, candidates, groups, solver, required, constant=constant, integer=integer,
                       exact_breaks=exact_breaks)
    by_index = {c.index: c for c in candidates}
    for g in groups:
        kinds = list(zip(model.skill_sets, model.primary_sets, strict=True))
        if (g.skills, g.primary) not in kinds:
            model.skill_sets.append(g.skills)
            model.primary_sets.append(frozenset(g.primary))
            kinds.append((g.skills, frozenset(g.primary)))
        k = kinds.index((g.skills, frozenset(g.primary)))
        model.set_of_group[g.index] = k
        for ci in g.allowed:
            c = by_index[ci]
            var = model.count_var(float(g.size), f"n_{g.index}_{ci}")
            model.n[g.index, ci] = var
            for p in range(max(c.p0, 0), min(c.p1, problem.requirements.n_periods)):
                model.on_duty[k, p].append((var, 1.0))
    for rule in rules:
        rule(model)
    objective = solver.Objective()
    for var, coef in model.objective:
        objective.SetCoefficient(var, objective.GetCoefficient(var) + coef)
    objective.SetMinimization()
    return model


def solve(model: CountModel, *, time_limit_s: float, workers: int = 1) -> CountSolution:
    """Solve the LP relaxation (the bound) and round the counts (stage 2 repairs what rounding breaks)."""
    solver = model.solver
    solver.SetNumThreads(max(workers, 1))
    solver.SetSolverSpecificParametersAsString(LP_PARAMETERS)
    t0 = perf_counter()
    status = solver.Solve()  # no limit: without the LP there is neither a bound nor counts
    solver.SetTimeLimit(max(int((time_limit_s - (perf_counter() - t0)) * 1000), 100))
    seconds_lp = perf_counter() - t0
    optimal = status == pywraplp.Solver.OPTIMAL
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return CountSolution({}, {}, float("nan"), 0.0, False, seconds_lp)
    lp_bound = solver.Objective().Value() + model.constant
    values, breaks = dive(model, deadline=t0 + time_limit_s)
    counts = round_counts(model, values)
    return CountSolution(counts, breaks, lp_bound, lp_bound if optimal else 0.0, optimal, seconds_lp)


Snapshot = tuple[dict[tuple[int, int], float], dict[tuple[int, int], list[float]]]


def _snapshot(model: CountModel) -> Snapshot:
    return {key: var.solution_value() for key, var in model.n.items()}, _break_share(model)


def dive(model: CountModel, *, deadline: float) -> Snapshot:
    """LP diving: fix the most nearly integral half of the fractional counts to their rounding and
    re-solve (warm-started dual simplex without presolve: tens of milliseconds a re-solve), until all
    counts are integral or time runs out. A fix that makes the LP infeasible is undone (the bounds
    restored) and retried with fewer variables, a single one the other way round. Returns the counts
    and break starts of the last LP solved to optimality.

    Measured on the 100-agent week: the dive ends with counts the count model accepts in 2-3 s (it
    used to stop after two 4-6 s re-solves, or cycle on infeasible fixes, and leave the rest to
    ``round_counts``). Also tried: rounding the last <= 24 fractional counts together by a MIP
    (SCIP, 1.6 s): the counts' LP objective fell (483.9 to 480.4; 523.6 to 499.1 on seed 11), but
    the final roster did not follow (100 agents, 3 seeds: 5.7% against 6.1% mean gap; 300 agents,
    seed 3: 5.7% against 4.8%), so it is not used."""
    solver = model.solver
    solver.SetSolverSpecificParametersAsString(DIVE_PARAMETERS)
    best = _snapshot(model)
    chunk_share = DIVE_CHUNK
    for _ in range(10_000):
        if perf_counter() >= deadline:
            break
        values = best[0]
        fractional = sorted((min(v - math.floor(v), math.ceil(v) - v), key) for key, v in values.items()
                            if 1e-6 < v - math.floor(v) < 1 - 1e-6)
        if not fractional:
            break
        size = max(1, len(fractional) // chunk_share)
        chunk = [key for _, key in fractional[:size]]
        fixes = [(key, round(values[key]), model.n[key].lb(), model.n[key].ub()) for key in chunk]
        if size == 1:  # a single variable: try its rounding, then the other side
            key = chunk[0]
            nearest = round(values[key])
            other = math.floor(values[key]) if nearest > values[key] else math.ceil(values[key])
            tries: list[int | None] = [nearest, other]
        else:
            tries = [None]
        solved = False
        for value in tries:
            for key, nearest_value, _, _ in fixes:
                target = nearest_value if value is None else value
                model.n[key].SetBounds(target, target)
            solver.SetTimeLimit(max(int((deadline - perf_counter()) * 1000), 1))
            status = solver.Solve()
            if status == pywraplp.Solver.OPTIMAL:
                solved = True
                break
            for key, _, lb, ub in fixes:  # undo: the last LP point is feasible again
                model.n[key].SetBounds(lb, ub)
            if status != pywraplp.Solver.INFEASIBLE:
                return best  # out of time: keep the last optimal LP point
        if solved:
            best = _snapshot(model)
            chunk_share = DIVE_CHUNK
        elif size == 1:
            break  # neither rounding of the last variable is feasible: round_counts finishes
        else:
            chunk_share *= 4
    return best


def round_counts(model: CountModel, values: dict[tuple[int, int], float]) -> dict[tuple[int, int], int]:
    """Round each group's LP counts per day by largest remainder, keeping the day's total."""
    by_day: dict[tuple[int, int], list[tuple[tuple[int, int], float]]] = defaultdict(list)
    day_of = {c.index: c.day_index for c in model.candidates}
    for key, value in values.items():
        if value > 1e-6:
            by_day[key[0], day_of[key[1]]].append((key, value))
    out: dict[tuple[int, int], int] = {}
    for items in by_day.values():
        total = round(sum(v for _, v in items))
        floors = {k: int(v + 1e-6) for k, v in items}
        left = total - sum(floors.values())
        for k, _ in sorted(items, key=lambda kv: kv[1] - int(kv[1] + 1e-6), reverse=True)[: max(left, 0)]:
            floors[k] += 1
        out.update({k: v for k, v in floors.items() if v > 0})
    return out


def _break_share(model: CountModel) -> dict[tuple[int, int], list[float]]:
    return {key: [v.solution_value() for v in vars_] for key, vars_ in model.break_starts.items()}
