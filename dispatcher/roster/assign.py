"""Stage 2, the assignment model: name the agents of one group onto the shifts counted in stage 1.

A small CP-SAT model per group: contracts, rest and consecutive days are hard; following the counts,
two consecutive days off, fairness, preferences and keeping published shifts are penalties.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from ortools.sat.python import cp_model

from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.problem import RosterProblem

SCALE = 100
GREEDY_ONLY_BELOW_S = 0.15
"""CP-SAT needs integer objective coefficients: penalty points x SCALE."""


@dataclass(slots=True)
class AssignModel:
    problem: RosterProblem
    group: Group
    candidates: Sequence[Candidate]
    """The group's allowed candidates."""
    counts: Mapping[int, int]
    """Candidate index → agents of this group stage 1 put on it."""
    n_days: int
    model: cp_model.CpModel
    soft_minimum: bool
    y: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    """(agent position in group, candidate index) → works it."""
    objective: list[tuple[cp_model.LinearExprT, int]] = field(default_factory=list)

    def penalise(self, expr: cp_model.LinearExprT, points: float) -> None:
        coef = round(points * SCALE)
        if coef:
            self.objective.append((expr, coef))

    def shifts_of(self, i: int, day_index: int | None = None) -> list[cp_model.IntVar]:
        return [self.y[i, c.index] for c in self.candidates if day_index is None or c.day_index == day_index]

    def works(self, i: int, day_index: int) -> cp_model.LinearExpr:
        """1 when agent i works that day (pinned days count as worked)."""
        if day_index in self.group.limits.pinned_days:
            return cast(cp_model.LinearExpr, 1)
        return cast(cp_model.LinearExpr, sum(self.shifts_of(i, day_index)))


AssignRule = Callable[[AssignModel], None]


@dataclass(frozen=True, slots=True)
class Assignment:
    shifts: dict[str, list[int]]
    """Agent id → candidate indices."""
    status: str
    short_of_minimum: dict[str, int]
    """Agent id → quarters below the contract minimum (only when the minimum had to be softened)."""


def _build(problem: RosterProblem, group: Group, allowed: Sequence[Candidate], counts: Mapping[int, int],
           n_days: int, rules: Sequence[AssignRule]) -> AssignModel:
    am = AssignModel(problem, group, allowed, counts, n_days, cp_model.CpModel(), soft_minimum=True)
    for i in range(group.size):
        for c in allowed:
            am.y[i, c.index] = am.model.new_bool_var(f"y_{i}_{c.index}")
    for rule in rules:
        rule(am)
    am.model.minimize(sum(coef * expr for expr, coef in am.objective))
    return am


def _solver(time_limit_s: float, workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.05)
    solver.parameters.num_workers = max(workers, 1)
    solver.parameters.random_seed = seed
    return solver


def greedy(group: Group, allowed: Sequence[Candidate], counts: Mapping[int, int],
           noise: Sequence[float] | None = None) -> dict[tuple[int, int], int]:
    """A quick named assignment of the counted shifts (hint for CP-SAT): day by day, each shift to the
    eligible agent furthest below their week's minimum, keeping max hours, max days and rest."""
    lim = group.limits
    weeks = lim.weeks
    hours = [[0] * len(weeks) for _ in range(group.size)]
    days = [[0] * len(weeks) for _ in range(group.size)]
    last_end: list[Candidate | None] = [None] * group.size
    hint: dict[tuple[int, int], int] = {}
    todo = sorted((c for c in allowed if counts.get(c.index, 0) > 0), key=lambda c: (c.day_index, c.start))
    for c in todo:
        week = weeks[c.week]
        for _ in range(counts[c.index]):
            best = None
            for i in range(group.size):
                prev = last_end[i]
                if prev is not None and (prev.day_index == c.day_index or c.start - prev.end < lim.min_rest):
                    continue
                if hours[i][c.week] + c.paid_quarters > week.max_quarters or days[i][c.week] >= week.max_days:
                    continue
                key = (hours[i][c.week] - week.min_quarters, days[i][c.week], noise[i] if noise else 0.0, i)
                if best is None or key < best[0]:
                    best = (key, i)
            if best is None:
                break
            i = best[1]
            hint[i, c.index] = 1
            hours[i][c.week] += c.paid_quarters
            days[i][c.week] += 1
            last_end[i] = c
    by_agent: dict[int, list[Candidate]] = {}
    for (i, ci) in hint:
        by_agent.setdefault(i, []).append(next(c for c in allowed if c.index == ci))
    rest_s = lim.min_rest.total_seconds()
    for i in range(group.size):  # top up weeks below their minimum with the longest shift that fits
        mine = by_agent.setdefault(i, [])
        for c in sorted(allowed, key=lambda c: -c.paid_quarters):
            week, k = weeks[c.week], c.week
            if hours[i][k] >= week.min_quarters or days[i][k] >= week.max_days:
                continue
            if hours[i][k] + c.paid_quarters > week.max_quarters:
                continue
            if any(o.day_index == c.day_index or abs((c.start - o.end).total_seconds()) < rest_s
                   or abs((o.start - c.end).total_seconds()) < rest_s for o in mine):
                continue
            mine.append(c)
            hint[i, c.index] = 1
            hours[i][k] += c.paid_quarters
            days[i][k] += 1
    return hint


def shortfall(group: Group, allowed: Sequence[Candidate], chosen: Mapping[tuple[int, int], int], i: int) -> int:
    """Quarters agent ``i`` of the group is below their weekly minimums, summed over planning weeks."""
    paid = [0] * len(group.limits.weeks)
    for c in allowed:
        if chosen.get((i, c.index), 0):
            paid[c.week] += c.paid_quarters
    return sum(max(w.min_quarters - q, 0) for w, q in zip(group.limits.weeks, paid, strict=True))


def core_score(group: Group, allowed: Sequence[Candidate], counts: Mapping[int, int],
               chosen: Mapping[tuple[int, int], int], weights_under: float, weights_over: float) -> float:
    """The core objective (following counts, meeting minimums) of an assignment, to compare two."""
    score = 0.0
    for c in allowed:
        k = sum(chosen.get((i, c.index), 0) for i in range(group.size))
        diff = k - counts.get(c.index, 0)
        score += (c.p1 - c.p0) * 2 * (weights_under * -diff if diff < 0 else weights_over * diff)
    for i in range(group.size):
        score += 50.0 * shortfall(group, allowed, chosen, i)
    return score


def assign_group(problem: RosterProblem, group: Group, candidates: Sequence[Candidate],
                 counts: Mapping[int, int], n_days: int, rules: Sequence[AssignRule], *,
                 core: Sequence[AssignRule] = (), time_limit_s: float, workers: int, seed: int) -> Assignment:
    """Name the group's agents. A contract minimum is a heavy penalty, not a wall, so a roster always
    exists and shortfalls are reported. With ``core`` rules, a model of those alone is solved first
    (fast) and hints the full model, which then only trades coverage for fairness where it pays."""
    allowed = [candidates[ci] for ci in group.allowed]
    rng = random.Random(seed)
    w = problem.weights
    tries = [greedy(group, allowed, counts)]
    tries += [greedy(group, allowed, counts, [rng.random() for _ in range(group.size)]) for _ in range(7)]
    hint = min(tries, key=lambda h: core_score(group, allowed, counts, h, w.under, w.over))
    limit = time_limit_s
    if time_limit_s < GREEDY_ONLY_BELOW_S:  # no time to build and solve a model: the greedy is the answer
        return _assignment(group, allowed, hint, "greedy")
    if core:
        first = _build(problem, group, allowed, counts, n_days, core)
        for key, var in first.y.items():
            first.model.add_hint(var, hint.get(key, 0))
        solver = _solver(time_limit_s * 0.4, workers, seed)
        status = solver.solve(first.model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            core_found = {key: int(solver.value(var)) for key, var in first.y.items()}
            if core_score(group, allowed, counts, core_found, w.under, w.over) <= core_score(
                    group, allowed, counts, hint, w.under, w.over):
                hint = core_found
        limit = max(time_limit_s - solver.wall_time, 0.05)
    am = _build(problem, group, allowed, counts, n_days, rules)
    for key, var in am.y.items():
        am.model.add_hint(var, hint.get(key, 0))
    solver = _solver(limit, workers, seed)
    status = solver.solve(am.model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = {key: int(solver.value(var)) for key, var in am.y.items()}
        state = solver.status_name(status).lower()
    else:  # out of time before the first solution: the best of greedy / core model
        chosen, state = hint, "greedy"
    if core_score(group, allowed, counts, hint, w.under, w.over) < core_score(group, allowed, counts, chosen,
                                                                              w.under, w.over):
        chosen, state = hint, "hint"
    return _assignment(group, allowed, chosen, state)


def _assignment(group: Group, allowed: Sequence[Candidate], chosen: Mapping[tuple[int, int], int],
                state: str) -> Assignment:
    shifts = {agent.id: [c.index for c in allowed if chosen.get((i, c.index), 0)]
              for i, agent in enumerate(group.agents)}
    short = {}
    for i, agent in enumerate(group.agents):
        missing = shortfall(group, allowed, chosen, i)
        if missing:
            short[agent.id] = missing
    return Assignment(shifts, state, short)
