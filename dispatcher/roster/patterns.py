"""The pattern model: each group of like agents chooses whole week patterns, priced by column generation.

Master LP: the count model's coverage, breaks, labour and stability rules (``COUNT_RULES`` less the
contract and rest rules, which every pattern keeps by construction), where the agents of group g on
candidate c are ``n[g, c] = sum of the group's patterns using c``, and each group uses exactly as many
patterns as it has agents. Columns (patterns) come from pricing (``pricing.py``) at the LP's duals;
the master is written once through pywraplp (the rule modules' interface) and re-solved by GLOP in
MathOpt incrementally, without presolve, so each re-solve starts from the last basis.

Bound: at every iteration ``LP value + sum over groups of size x min(0, cheapest reduced cost)`` is a
valid lower bound on the reported objective (Lagrangian / Farley). Pricing carries a tiny
days-off-pair tie-break (``PAIR_TIE_BREAK`` a week), taken off the bound again.

Integer roster (price-and-branch): the master over the generated columns with integer pattern counts
and the days-off-pair penalty on each column, solved by HiGHS from a start (the roster the method
began from, or the LP rounded); patterns go to the agents of their group by an assignment that meets
preferences and keeps published shifts.

Measured (100 agents, seed 7, generator week, 2 cores): from artificial columns, column generation
converges in 87 iterations and ~100 s to 469.728, exactly the count LP's optimum (469.728): on these
instances the pattern LP is no tighter than the count LP, and the gap to the bound is integral, not a
weak bound. So the method starts from the decomposition's roster (its patterns are columns) and spends
its share on new columns and the integer master.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from time import perf_counter

import numpy as np
import numpy.typing as npt
from ortools.glop import parameters_pb2
from ortools.math_opt.io.python import mps_converter
from ortools.math_opt.python import mathopt
from scipy.optimize import linear_sum_assignment

from dispatcher.roster import counts as count_model
from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.improve import AgentTerms, Placed
from dispatcher.roster.pricing import PatternPricer, PricedPattern
from dispatcher.roster.problem import RosterProblem
from dispatcher.roster.rules import breaks, cost, coverage, stability

MASTER_RULES = (breaks.counts, coverage.counts, cost.counts, stability.counts)
"""The count model's rules less contract and rest (the patterns hold those)."""
ARTIFICIAL_POINTS = 10_000.0
"""Per agent a group leaves without a pattern: only until pricing has found real ones."""
REDUCED_COST_TOLERANCE = 1e-6
PAIR_TIE_BREAK = 1e-3
"""Pricing's days-off-pair penalty a week: among equally cheap patterns, prefer two days off in a row."""
PRICING_PATTERNS_PER_GROUP = 3
"""Columns added per group and iteration: the cheapest, and the cheapest without one of its shifts."""
BUILDER = "GLOP"
"""pywraplp backend used only to build the master (it is solved in MathOpt)."""


@dataclass(frozen=True, slots=True)
class Column:
    group: int
    candidates: tuple[int, ...]
    unpaired_weeks: int
    var: mathopt.Variable


@dataclass(frozen=True, slots=True)
class PatternOutcome:
    placed: list[Placed] | None
    """Named shifts with break offsets (skills still to allocate); None: no integer master solution."""
    objective: float
    """The integer master's objective (reported terms plus days-off-pair penalties)."""
    bound: float
    """Valid lower bound on the reported objective (``-inf`` when none was proven)."""
    converged: bool
    """Pricing found no improving column: the LP is the pattern LP's optimum."""
    columns: int
    iterations: int
    seconds: float


class PatternMaster:
    """The restricted master LP and its columns."""

    def __init__(self, problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
                 required: npt.NDArray[np.int64], constant: float) -> None:
        self.problem = problem
        self.groups = groups
        built = count_model.build(problem, candidates, groups, MASTER_RULES, required, constant, solver_name=BUILDER)
        solver = built.solver
        first_row = solver.NumConstraints()
        link_rows: dict[tuple[int, int], int] = {}
        for key, var in built.n.items():
            row = solver.Constraint(0.0, 0.0, "")
            row.SetCoefficient(var, 1.0)
            link_rows[key] = first_row + len(link_rows)
        convexity_rows: dict[int, int] = {}
        artificial_vars: dict[int, int] = {}
        objective = solver.Objective()
        for g in groups:
            row = solver.Constraint(float(g.size), float(g.size), "")
            art = solver.NumVar(0.0, solver.infinity(), "")
            row.SetCoefficient(art, 1.0)
            objective.SetCoefficient(art, ARTIFICIAL_POINTS)
            convexity_rows[g.index] = solver.NumConstraints() - 1
            artificial_vars[g.index] = art.index()
        self.constant = built.constant
        """The passed constant plus cells no shift can cover (not in the exported model)."""
        self.break_vars = {key: [v.index() for v in vars_] for key, vars_ in built.break_starts.items()}
        model = mathopt.Model.from_model_proto(
            mps_converter.mps_to_model_proto(solver.ExportModelAsMpsFormat(False, True)))
        self.model = model
        variables = list(model.variables())
        rows = list(model.linear_constraints())
        self.variables = variables
        self.link = {key: rows[i] for key, i in link_rows.items()}
        self.convexity = {g: rows[i] for g, i in convexity_rows.items()}
        self.artificial = {g: variables[i] for g, i in artificial_vars.items()}
        self.columns: list[Column] = []
        self.known: set[tuple[int, tuple[int, ...]]] = set()
        self.solver = mathopt.IncrementalSolver(model, mathopt.SolverType.GLOP)
        self.result: mathopt.SolveResult | None = None

    def add(self, group: int, pattern: PricedPattern) -> bool:
        key = (group, pattern.candidates)
        if key in self.known:
            return False
        self.known.add(key)
        var = self.model.add_variable(lb=0.0)
        for ci in pattern.candidates:
            self.link[group, ci].set_coefficient(var, -1.0)
        self.convexity[group].set_coefficient(var, 1.0)
        self.columns.append(Column(group, pattern.candidates, pattern.unpaired_weeks, var))
        return True

    def solve(self, deadline: float) -> bool:
        params = mathopt.SolveParameters(time_limit=timedelta(seconds=max(deadline - perf_counter(), 0.01)),
                                         glop=parameters_pb2.GlopParameters(use_preprocessing=False))
        self.result = self.solver.solve(params=params)
        return bool(self.result.termination.reason == mathopt.TerminationReason.OPTIMAL)

    @property
    def value(self) -> float:
        assert self.result is not None
        return float(self.result.objective_value()) + self.constant

    def duals(self) -> dict[int, tuple[dict[int, float], float]]:
        """Per group: candidate prices for pricing (the link rows' duals) and the convexity row's dual."""
        assert self.result is not None
        y = self.result.dual_values()
        prices: dict[int, dict[int, float]] = defaultdict(dict)
        for (g, ci), row in self.link.items():
            prices[g][ci] = y[row]
        return {g.index: (prices[g.index], y[self.convexity[g.index]]) for g in self.groups}

    def artificial_free(self) -> bool:
        assert self.result is not None
        values = self.result.variable_values()
        return all(values[v] < 1e-9 for v in self.artificial.values())


def generate_columns(master: PatternMaster, pricers: dict[int, PatternPricer], *,
                     deadline: float) -> tuple[float, bool, int]:
    """Column generation until no improving pattern or the deadline: (best bound, converged, iterations)."""
    best_bound = -math.inf
    iterations = 0
    while perf_counter() < deadline:
        if not master.solve(deadline):
            break
        iterations += 1
        value = master.value
        lagrangian = value
        duals = master.duals()
        found: list[tuple[int, PricedPattern]] = []
        for g in master.groups:
            prices, dual = duals[g.index]
            pricer = pricers[g.index]
            best = pricer.price(prices, pair_weight=PAIR_TIE_BREAK)
            if best is None:
                continue
            reduced = best.price - dual
            lagrangian += g.size * min(reduced - PAIR_TIE_BREAK * len(g.limits.weeks), 0.0)
            if reduced < -REDUCED_COST_TOLERANCE:
                found.append((g.index, best))
                found.extend((g.index, extra) for extra in _neighbours(pricer, prices, best, dual))
        clean = master.artificial_free()
        if clean:
            best_bound = max(best_bound, lagrangian)
        added = sum(master.add(g, pattern) for g, pattern in found)
        if not added:
            return (max(best_bound, value) if clean else best_bound), clean, iterations
    return best_bound, False, iterations


def _neighbours(pricer: PatternPricer, prices: dict[int, float], best: PricedPattern,
                dual: float) -> list[PricedPattern]:
    """More improving patterns: the cheapest with one of the best pattern's shifts forbidden."""
    out: list[PricedPattern] = []
    for ci in best.candidates[: PRICING_PATTERNS_PER_GROUP - 1]:
        other = pricer.price({**prices, ci: math.inf}, pair_weight=PAIR_TIE_BREAK)
        if other is not None and math.isfinite(other.price) and other.price - dual < -REDUCED_COST_TOLERANCE:
            out.append(other)
    return out


def integer_patterns(master: PatternMaster, start: dict[int, int], *, pair_weight: float,
                     time_limit_s: float) -> tuple[dict[int, int], float]:
    """Pattern counts (column index → how many) by HiGHS over the generated columns from ``start``, each
    column also paying ``pair_weight`` per week without two days off in a row; returns the counts and
    the objective (``start`` and inf when HiGHS found nothing)."""
    t0 = perf_counter()
    for col in master.columns:
        col.var.integer = True
        master.model.objective.set_linear_coefficient(col.var, pair_weight * col.unpaired_weeks)
    for art in master.artificial.values():
        art.upper_bound = 0.0
    hint = {col.var: float(start.get(j, 0)) for j, col in enumerate(master.columns)}
    left = time_limit_s - (perf_counter() - t0)
    if left <= 0.2:
        return start, math.inf
    params = mathopt.SolveParameters(time_limit=timedelta(seconds=left), relative_gap_tolerance=1e-4)
    result = mathopt.solve(master.model, mathopt.SolverType.HIGHS, params=params,
                           model_params=mathopt.ModelSolveParameters(
                               solution_hints=[mathopt.SolutionHint(variable_values=hint)]))
    if not result.has_primal_feasible_solution():
        return start, math.inf
    values = result.variable_values()
    chosen = {j: round(values[col.var]) for j, col in enumerate(master.columns)}
    master.result = result
    return {j: k for j, k in chosen.items() if k > 0}, result.objective_value() + master.constant


def round_lp(master: PatternMaster) -> dict[int, int]:
    """Largest-remainder rounding of the LP's pattern counts, group by group (sizes kept)."""
    assert master.result is not None
    values = master.result.variable_values()
    out: dict[int, int] = {}
    by_group: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for j, col in enumerate(master.columns):
        v = values[col.var]
        if v > 1e-9:
            by_group[col.group].append((j, v))
    for g in master.groups:
        items = by_group.get(g.index, [])
        floors = {j: int(v + 1e-9) for j, v in items}
        left = g.size - sum(floors.values())
        for j, _ in sorted(items, key=lambda jv: jv[1] - int(jv[1] + 1e-9), reverse=True)[: max(left, 0)]:
            floors[j] += 1
        out.update({j: k for j, k in floors.items() if k > 0})
    return out


def name_agents(master: PatternMaster, chosen: dict[int, int], terms: AgentTerms,
                candidates: Sequence[Candidate], current: dict[str, tuple[int, ...]]) -> dict[str, int]:
    """Agent id → column: per group an assignment that meets preferences, keeps published shifts and,
    among equals, gives agents the pattern they had in ``current`` (agents of a group are otherwise
    interchangeable)."""
    out: dict[str, int] = {}
    copies: dict[int, list[int]] = defaultdict(list)
    for j, k in sorted(chosen.items()):
        copies[master.columns[j].group].extend([j] * k)
    for g in master.groups:
        columns = copies.get(g.index, [])
        if not columns:
            continue
        agents = g.agents
        cost_matrix = np.zeros((len(agents), len(columns)))
        for i, a in enumerate(agents):
            for j, col in enumerate(columns):
                pattern = master.columns[col].candidates
                cost_matrix[i, j] = sum(terms.soft(a.id, candidates[ci]) for ci in pattern)
                cost_matrix[i, j] -= 1e-3 * (current.get(a.id) == pattern)
        rows, cols = linear_sum_assignment(cost_matrix)
        for i, j in zip(rows, cols, strict=True):
            out[agents[i].id] = columns[j]
    return out


def solve_patterns(problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
                   required: npt.NDArray[np.int64], *, constant: float, start: Sequence[Placed],
                   deadline_lp: float, deadline_mip: float) -> PatternOutcome:
    """Columns from ``start`` (a roster's patterns) and from pricing until ``deadline_lp``, then the integer
    master from ``start`` until ``deadline_mip``."""
    t0 = perf_counter()
    n_days = len(problem.requirements.days)
    master = PatternMaster(problem, candidates, groups, required, constant)
    pricers = {g.index: PatternPricer(g, candidates, n_days, pair_weight=problem.weights.days_off_pair)
               for g in groups}
    current: dict[str, list[int]] = defaultdict(list)
    group_of: dict[str, int] = {}
    for pl in start:
        current[pl.agent_id].append(pl.candidate.index)
        group_of[pl.agent_id] = pl.group
    patterns = {a.id: tuple(sorted(current.get(a.id, []))) for g in groups for a in g.agents}
    start_counts: dict[int, int] = defaultdict(int)
    column_of: dict[tuple[int, tuple[int, ...]], int] = {}
    for g in groups:
        for a in g.agents:
            key = (g.index, patterns[a.id])
            if key not in column_of:
                master.add(g.index, pricers[g.index].describe(patterns[a.id]))
                column_of[key] = len(master.columns) - 1
            start_counts[column_of[key]] += 1
    for g in groups:  # a pattern for each group even without a start
        first = pricers[g.index].price({}, pair_weight=PAIR_TIE_BREAK)
        if first is not None:
            master.add(g.index, first)
    bound, converged, iterations = generate_columns(master, pricers, deadline=deadline_lp)
    if master.result is None or not start:
        if master.result is None:
            master.solve(deadline_mip)
        begin = round_lp(master) if master.result is not None else dict(start_counts)
    else:
        begin = dict(start_counts)
    chosen, objective = integer_patterns(master, begin, pair_weight=problem.weights.days_off_pair,
                                         time_limit_s=max(deadline_mip - perf_counter(), 0.0))
    if not math.isfinite(objective) and not start:
        return PatternOutcome(None, math.inf, bound, converged, len(master.columns), iterations,
                              perf_counter() - t0)
    terms = AgentTerms(problem, candidates, groups)
    named = name_agents(master, chosen, terms, candidates, patterns)
    values = master.result.variable_values() if master.result is not None else {}
    variables = master.variables
    break_share = {key: [float(values.get(variables[i], 0.0)) for i in idx] for key, idx in master.break_vars.items()}
    placed = _placed(master, named, candidates, break_share)
    return PatternOutcome(placed, objective, bound, converged, len(master.columns), iterations, perf_counter() - t0)


def _placed(master: PatternMaster, named: dict[str, int], candidates: Sequence[Candidate],
            break_share: dict[tuple[int, int], list[float]]) -> list[Placed]:
    on: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for agent_id, j in sorted(named.items()):
        col = master.columns[j]
        for ci in col.candidates:
            on[ci].append((agent_id, col.group))
    out: list[Placed] = []
    for ci, members in sorted(on.items()):
        c = candidates[ci]
        plans = breaks.place(c, len(members), [break_share.get((ci, b)) for b in range(len(c.breaks))])
        out.extend(Placed(agent_id, g, c, plan) for (agent_id, g), plan in zip(members, plans, strict=True))
    return out
