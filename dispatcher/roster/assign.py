"""Stage 2, the assignment model: name the agents of one group onto the shifts counted in stage 1.

A small CP-SAT model per group: contracts, rest and consecutive days are hard; following the counts,
two consecutive days off, fairness, preferences and keeping published shifts are penalties.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from dispatcher.roster.grid import Candidate, Group
from dispatcher.roster.problem import RosterProblem

SCALE = 100
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
    min_shortfall: dict[int, cp_model.IntVar] = field(default_factory=dict)

    def penalise(self, expr: cp_model.LinearExprT, points: float) -> None:
        coef = int(round(points * SCALE))
        if coef:
            self.objective.append((expr, coef))

    def shifts_of(self, i: int, day_index: int | None = None) -> list[cp_model.IntVar]:
        return [self.y[i, c.index] for c in self.candidates if day_index is None or c.day_index == day_index]

    def works(self, i: int, day_index: int) -> cp_model.LinearExprT:
        """1 when agent i works that day (pinned days count as worked)."""
        if day_index in self.group.limits.pinned_days:
            return 1
        return sum(self.shifts_of(i, day_index))


AssignRule = Callable[[AssignModel], None]


@dataclass(frozen=True, slots=True)
class Assignment:
    shifts: dict[str, list[int]]
    """Agent id → candidate indices."""
    status: str
    short_of_minimum: dict[str, int]
    """Agent id → quarters below the contract minimum (only when the minimum had to be softened)."""


def assign_group(problem: RosterProblem, group: Group, candidates: Sequence[Candidate],
                 counts: Mapping[int, int], n_days: int, rules: Sequence[AssignRule], *,
                 time_limit_s: float, workers: int, seed: int) -> Assignment:
    allowed = [candidates[ci] for ci in group.allowed]
    for soft in (False, True):
        am = AssignModel(problem, group, allowed, counts, n_days, cp_model.CpModel(), soft)
        for i in range(group.size):
            for c in allowed:
                am.y[i, c.index] = am.model.NewBoolVar(f"y_{i}_{c.index}")
        for rule in rules:
            rule(am)
        am.model.Minimize(sum(coef * expr for expr, coef in am.objective))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(time_limit_s, 0.05)
        solver.parameters.num_workers = max(workers, 1)
        solver.parameters.random_seed = seed
        status = solver.Solve(am.model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            shifts = {
                agent.id: [c.index for c in allowed if solver.Value(am.y[i, c.index])]
                for i, agent in enumerate(group.agents)
            }
            short = {group.agents[i].id: int(solver.Value(v)) for i, v in am.min_shortfall.items()
                     if solver.Value(v) > 0}
            return Assignment(shifts, solver.StatusName(status).lower(), short)
    return Assignment({a.id: [] for a in group.agents}, "infeasible",
                      {a.id: group.limits.min_quarters for a in group.agents})
