"""The whole roster as one MIP over named agents, solved by HiGHS (OR-Tools MathOpt), started from a roster.

The count model (``counts.py``) with every agent its own group, integer counts and break starts per
skill set (``exact_breaks``) *is* the named roster problem: one shift a day, weekly hours and days per
planning week, consecutive days and rest per agent, each break taken from the skills its agent works,
skills allocated per period. Its objective is the reported one (coverage, labour, auxiliary work,
changes), so HiGHS's best bound is a bound for the full rule set (contract minimums hard, as in the
count LP), and its incumbent a roster. Fairness, preferences and days off in pairs are not in it: a
roster it returns is kept only when the reported objective is lower.

The model is written once through pywraplp (the rule modules' interface), exported as MPS and read by
MathOpt, because pywraplp's own HiGHS interface crashes on a solution hint in this OR-Tools build.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from time import perf_counter

import numpy as np
import numpy.typing as npt
from ortools.math_opt.io.python import mps_converter
from ortools.math_opt.python import mathopt

from dispatcher.roster import counts as count_model
from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.improve import Placed
from dispatcher.roster.problem import RosterProblem
from dispatcher.roster.rules import COUNT_RULES, breaks

LNS_FREE_AGENTS = 12
"""Agents whose shifts one large-neighbourhood step re-plans."""
LNS_STEP_S = 2.0
"""Time limit of one large-neighbourhood step."""
BUILDER = "SCIP"
"""pywraplp backend used only to build the model (any MIP-capable one; it is never solved there)."""


@dataclass(frozen=True, slots=True)
class MipOutcome:
    placed: list[Placed] | None
    """The incumbent as named shifts with break offsets (skills still to allocate); None: none found."""
    objective: float
    bound: float
    """HiGHS's best bound plus the constant; ``-inf`` when unknown."""
    optimal: bool
    seconds: float


def singleton_groups(groups: Sequence[Group]) -> tuple[list[Group], dict[int, tuple[str, int]]]:
    """Every agent its own group; single-group index → (agent id, original group index)."""
    out: list[Group] = []
    owner: dict[int, tuple[str, int]] = {}
    for g in groups:
        for a in g.agents:
            owner[len(out)] = (a.id, g.index)
            out.append(Group(len(out), (a,), g.skills, g.primary, g.limits, g.allowed))
    return out, owner


def solve_named(problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
                required: npt.NDArray[np.int64], *, constant: float = 0.0, start: Sequence[Placed] = (),
                time_limit_s: float) -> MipOutcome:
    """Solve the named MIP within ``time_limit_s`` (building included), hinted by ``start``."""
    t0 = perf_counter()
    singles, owner = singleton_groups(groups)
    model = count_model.build(problem, candidates, singles, COUNT_RULES, required, constant, solver_name=BUILDER,
                              integer=True, exact_breaks=True)
    mip, variables = _to_mathopt(model)
    hint = _hint(model, singles, start, variables)
    result = _highs(mip, time_limit_s - (perf_counter() - t0), hint)
    if result is None:
        return MipOutcome(None, float("inf"), float("-inf"), False, perf_counter() - t0)
    bound, optimal = _bound(result, model.constant), _optimal(result)
    if not result.has_primal_feasible_solution():
        return MipOutcome(None, float("inf"), bound, False, perf_counter() - t0)
    values = result.variable_values()
    placed = _placed(model, owner, candidates, {i: values[v] for i, v in enumerate(variables)})
    return MipOutcome(placed, result.objective_value() + model.constant, bound, optimal, perf_counter() - t0)


def solve_counts(problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
                 required: npt.NDArray[np.int64], *, constant: float = 0.0, time_limit_s: float) -> MipOutcome:
    """The count model over the groups of like agents with integer counts and exact breaks, in HiGHS: a
    relaxation of the named roster (group-level sums of the per-agent rules) that is tighter than the count
    LP, so its best bound is a bound for the full rule set. Returns no roster (the counts are not named).

    Measured (100 agents, seed 7, ``python -m benchmarks.roster --sizes 100 --seeds 7 --relaxation 900``):
    after 900 s its best integer point is 480.8 and its bound 472.75, against the count LP's 469.73."""
    t0 = perf_counter()
    model = count_model.build(problem, candidates, groups, COUNT_RULES, required, constant, solver_name=BUILDER,
                              integer=True, exact_breaks=True)
    mip, _ = _to_mathopt(model)
    result = _highs(mip, time_limit_s - (perf_counter() - t0))
    if result is None:
        return MipOutcome(None, float("inf"), float("-inf"), False, perf_counter() - t0)
    objective = result.objective_value() + model.constant if result.has_primal_feasible_solution() else float("inf")
    return MipOutcome(None, objective, _bound(result, model.constant), _optimal(result), perf_counter() - t0)


def solve_breaks(problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
                 required: npt.NDArray[np.int64], placed: Sequence[Placed], *, constant: float = 0.0,
                 time_limit_s: float) -> MipOutcome:
    """Breaks and skills exactly, for the shifts of ``placed`` as they are: the count model with every
    group's counts fixed to the roster's, integer break starts per skill set, solved by HiGHS. Returns
    the same shifts with the breaks HiGHS placed (skills still to allocate); no bound (shifts fixed).

    Measured (100 agents, seed 7): the local search's roster at 496.7 goes to 488.4 in 2.4 s (1 s of it
    building), HiGHS proving the break placement optimal."""
    t0 = perf_counter()
    model = count_model.build(problem, candidates, groups, COUNT_RULES, required, constant, solver_name=BUILDER,
                              integer=True, exact_breaks=True)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for pl in placed:
        counts[pl.group, pl.candidate.index] += 1
    if any(key not in model.n for key in counts):  # a shift outside its group's candidates: leave it
        return MipOutcome(None, float("inf"), float("-inf"), False, perf_counter() - t0)
    for key, var in model.n.items():
        var.SetBounds(counts.get(key, 0), counts.get(key, 0))
    mip, variables = _to_mathopt(model)
    result = _highs(mip, time_limit_s - (perf_counter() - t0))
    if result is None or not result.has_primal_feasible_solution():
        return MipOutcome(None, float("inf"), float("-inf"), False, perf_counter() - t0)
    values = result.variable_values()
    starts = {key: [round(values[variables[v.index()]]) for v in vars_]
              for key, vars_ in model.set_break_starts.items()}
    members: dict[tuple[int, int], list[Placed]] = defaultdict(list)
    for pl in placed:
        members[model.set_of_group[pl.group], pl.candidate.index].append(pl)
    out: list[Placed] = []
    for (k, ci), shifts in sorted(members.items()):
        c = candidates[ci]
        plans = breaks.place(c, len(shifts), [starts.get((k, ci, b)) or None for b in range(len(c.breaks))])
        out.extend(Placed(pl.agent_id, pl.group, c, plan) for pl, plan in zip(shifts, plans, strict=True))
    return MipOutcome(out, result.objective_value() + model.constant, float("-inf"), _optimal(result),
                      perf_counter() - t0)


def _highs(mip: mathopt.Model, seconds: float,
           hint: mathopt.SolutionHint | None = None) -> mathopt.SolveResult | None:
    """HiGHS on ``mip`` for ``seconds`` (None when too little time is left to start), from ``hint``.
    MathOpt's HiGHS interface takes no thread count: HiGHS's MIP search is single-threaded anyway."""
    if seconds <= 0.2:
        return None
    params = mathopt.SolveParameters(time_limit=timedelta(seconds=seconds), relative_gap_tolerance=1e-6)
    model_params = mathopt.ModelSolveParameters(solution_hints=[hint]) if hint is not None else None
    return mathopt.solve(mip, mathopt.SolverType.HIGHS, params=params, model_params=model_params)


def _bound(result: mathopt.SolveResult, constant: float) -> float:
    """HiGHS's best bound plus the model's constant (cells no shift can cover are not in the MPS)."""
    bound = result.best_objective_bound()
    return bound + constant if np.isfinite(bound) else float("-inf")


def _optimal(result: mathopt.SolveResult) -> bool:
    return bool(result.termination.reason == mathopt.TerminationReason.OPTIMAL)


def _to_mathopt(model: count_model.CountModel) -> tuple[mathopt.Model, list[mathopt.Variable]]:
    """The pywraplp model in MathOpt (variables in the same order)."""
    mps = model.solver.ExportModelAsMpsFormat(False, True)  # obfuscated: unique names V<index>, same order
    mip = mathopt.Model.from_model_proto(mps_converter.mps_to_model_proto(mps))
    return mip, list(mip.variables())


def improve_named(problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
                  required: npt.NDArray[np.int64], *, constant: float = 0.0, start: Sequence[Placed],
                  time_limit_s: float, seed: int = 0, free_agents: int = LNS_FREE_AGENTS) -> MipOutcome:
    """Large-neighbourhood search on the named MIP: again and again, free the shifts of a few agents
    (random, ``free_agents`` of them), keep everyone else's, free all break starts, and let HiGHS
    re-plan them from the incumbent within ``LNS_STEP_S``; keep what is cheaper. No bound (each
    step solves a restricted model)."""
    t0 = perf_counter()
    deadline = t0 + time_limit_s
    singles, owner = singleton_groups(groups)
    model = count_model.build(problem, candidates, singles, COUNT_RULES, required, constant, solver_name=BUILDER,
                              integer=True, exact_breaks=True)
    mip, variables = _to_mathopt(model)
    incumbent = dict(_hint(model, singles, start, variables).variable_values)
    shifts_of: dict[int, list[mathopt.Variable]] = defaultdict(list)
    for (g, _), var in model.n.items():
        shifts_of[g].append(variables[var.index()])
    rng = random.Random(seed)
    best: float | None = None
    best_values: dict[int, float] | None = None
    steps = 0
    while perf_counter() < deadline - 0.3:
        free = set(rng.sample(sorted(shifts_of), min(free_agents, len(shifts_of))))
        for g, vars_ in shifts_of.items():
            for v in vars_:
                v.lower_bound = 0.0 if g in free else round(incumbent[v])
                v.upper_bound = 1.0 if g in free else round(incumbent[v])
        result = _highs(mip, min(LNS_STEP_S, deadline - perf_counter()),
                        mathopt.SolutionHint(variable_values=incumbent))
        if result is None:
            break
        steps += 1
        if not result.has_primal_feasible_solution():
            continue
        value = result.objective_value()
        if best is None or value < best - 1e-9:
            values = result.variable_values()
            best, best_values = value, {i: values[v] for i, v in enumerate(variables)}
            incumbent = {v: round(values[v]) for v in variables if v.integer}
    if best is None or best_values is None:
        return MipOutcome(None, float("inf"), float("-inf"), False, perf_counter() - t0)
    placed = _placed(model, owner, candidates, best_values)
    return MipOutcome(placed, best + model.constant, float("-inf"), False, perf_counter() - t0)


def _hint(model: count_model.CountModel, singles: Sequence[Group], start: Sequence[Placed],
          variables: Sequence[mathopt.Variable]) -> mathopt.SolutionHint:
    """Counts and break starts of ``start`` (0 elsewhere); HiGHS completes the continuous rest."""
    single_of = {g.agents[0].id: g.index for g in singles}
    set_of = model.set_of_group
    works: set[tuple[int, int]] = set()
    starts: dict[tuple[int, int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for pl in start:
        g = single_of[pl.agent_id]
        works.add((g, pl.candidate.index))
        for b, offset in enumerate(pl.break_offsets):
            starts[set_of[g], pl.candidate.index, b][offset] += 1
    values: dict[mathopt.Variable, float] = {}
    for key, var in model.n.items():
        values[variables[var.index()]] = 1.0 if key in works else 0.0
    for (k, ci, b), vars_ in model.set_break_starts.items():
        offsets = model.candidates[ci].breaks[b].offsets
        chosen = starts.get((k, ci, b), {})
        for var, offset in zip(vars_, offsets, strict=True):
            values[variables[var.index()]] = float(chosen.get(offset, 0))
    return mathopt.SolutionHint(variable_values=values)


def _placed(model: count_model.CountModel, owner: dict[int, tuple[str, int]], candidates: Sequence[Candidate],
            value: dict[int, float]) -> list[Placed]:
    """The MIP solution as named shifts; each set's break starts on a candidate handed to its agents."""
    on: dict[tuple[int, int], list[int]] = defaultdict(list)  # (skill set, candidate) → single groups
    for (g, ci), var in model.n.items():
        if value[var.index()] > 0.5:
            on[model.set_of_group[g], ci].append(g)
    out: list[Placed] = []
    for (k, ci), members in sorted(on.items()):
        c = candidates[ci]
        shares = [[round(value[v.index()]) for v in model.set_break_starts.get((k, ci, b), [])]
                  for b in range(len(c.breaks))]
        plans = breaks.place(c, len(members), [s or None for s in shares])
        for g, plan in zip(members, plans, strict=True):
            agent_id, group = owner[g]
            out.append(Placed(agent_id, group, c, plan))
    return out
