"""Never a bare "infeasible": name what binds.

``precheck`` finds input that no roster can satisfy (a skill nobody has, periods no template
covers, an agent with no availability or a minimum that cannot fit) and says how the solve goes on.
``binding_rules`` relaxes one rule family at a time in the count LP and reports how much of the
under-staffing each relaxation would remove: the biggest one is the rule that binds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from time import perf_counter

import numpy as np

from dispatcher.domain import Agent, Contract
from dispatcher.roster import counts
from dispatcher.roster.grid import Candidate, build_candidates, build_groups
from dispatcher.roster.problem import PERIOD_MIN, RosterProblem
from dispatcher.roster.result import Explanation
from dispatcher.roster.rules import COUNT_RULES
from dispatcher.roster.weeks import week_contract


@dataclass(frozen=True, slots=True)
class Precheck:
    explanations: tuple[Explanation, ...]
    lowered_minimum: dict[tuple[str, int], int]
    """(agent id, planning week) → the most paid quarter-hours any roster could give them that week,
    when below their minimum."""


def precheck(problem: RosterProblem, candidates: Sequence[Candidate]) -> Precheck:
    req = problem.requirements
    out: list[Explanation] = []
    held = {s for a in problem.agents for s in a.skills}
    for si, skill in enumerate(req.skills):
        cells = np.flatnonzero(req.required[si] > 0)
        if skill not in held and cells.size:
            out.append(Explanation("skills", f"requirements ask for {skill!r} but no agent has it; its "
                                   f"{int(req.required[si].sum()) * PERIOD_MIN / 60:g} agent-hours stay uncovered",
                                   skill=skill, row=int(req.source_row[si, cells[0]])))
    covered = np.zeros(req.n_periods, dtype=bool)
    for c in candidates:
        covered[max(c.p0, 0):min(c.p1, req.n_periods)] = True
    for si, skill in enumerate(req.skills):
        gaps = np.flatnonzero((req.required[si] > 0) & ~covered)
        if not gaps.size:
            continue
        days = sorted({req.period_start(int(p)).date() for p in gaps})
        first = int(gaps[0])
        out.append(Explanation(
            "templates",
            f"no shift template covers {len(gaps)} required period(s), first {req.period_start(first).isoformat()} "
            f"(days {', '.join(d.isoformat() for d in days[:3])}{'…' if len(days) > 3 else ''})",
            skill=skill, row=int(req.source_row[si, first]),
        ))
    lowered: dict[tuple[str, int], int] = {}
    groups = build_groups(problem, candidates)
    by_index = {c.index: c for c in candidates}
    weeks = problem.weeks
    for g in groups:
        for agent in g.agents:
            if not g.allowed:
                out.append(Explanation("availability", "no shift template fits the agent's availability on any "
                                       "day; the agent gets no shifts", agent_id=agent.id))
        for k, week in enumerate(g.limits.weeks):
            best_per_day: dict[int, int] = {}
            for ci in g.allowed:
                c = by_index[ci]
                if c.week == k:
                    best_per_day[c.day_index] = max(best_per_day.get(c.day_index, 0), c.paid_quarters)
            reachable = sum(sorted(best_per_day.values(), reverse=True)[: week.max_days])
            reachable = min(reachable, week.max_quarters)
            if reachable >= week.min_quarters:
                continue
            for agent in g.agents:
                lowered[agent.id, k] = reachable
                minimum = week_contract(agent.contract, weeks[k]).min_quarters
                out.append(Explanation(
                    "min_hours_week",
                    f"contract minimum {minimum * PERIOD_MIN / 60:g} h in the week {weeks[k].label()} cannot be "
                    f"met: at most {reachable * PERIOD_MIN / 60:g} h fit availability, templates and max days; "
                    f"rostered up to that instead", agent_id=agent.id))
    return Precheck(tuple(out), lowered)


Relaxation = Callable[[RosterProblem], RosterProblem]


def _contracts(problem: RosterProblem, change: Callable[[Contract], Contract]) -> RosterProblem:
    agents = tuple(replace(a, contract=change(a.contract)) for a in problem.agents)
    return replace(problem, agents=agents)


def _double_headcount(problem: RosterProblem) -> RosterProblem:
    clones = tuple(Agent(f"{a.id}+", a.name, dict(a.skills), a.primary_skills, a.capacity, a.contract, a.team,
                         a.supervisor) for a in problem.agents)
    availability = {**problem.availability, **{f"{k}+": v for k, v in problem.availability.items()}}
    return replace(problem, agents=problem.agents + clones, availability=availability)


RELAXATIONS: dict[str, Relaxation] = {
    "max_hours_week": lambda p: _contracts(p, lambda c: replace(c, max_hours_week=min(c.max_hours_week * 1.5, 168))),
    "max_days_week": lambda p: _contracts(p, lambda c: replace(c, max_days_week=7)),
    "min_rest_hours": lambda p: _contracts(p, lambda c: replace(c, min_rest_hours=0.0)),
    "max_consecutive_days": lambda p: _contracts(p, lambda c: replace(c, max_consecutive_days=7)),
    "availability": lambda p: replace(p, availability={}),
    "headcount": _double_headcount,
}


def under_hours_lp(problem: RosterProblem) -> float:
    """Agent-hours short in the count LP (the least any roster can leave short under these rules)."""
    candidates = build_candidates(problem)
    pre = precheck(problem, candidates)
    groups = build_groups(problem, candidates, pre.lowered_minimum)
    model = counts.build(problem, candidates, groups, COUNT_RULES, problem.requirements.required)
    model.solver.SetNumThreads(1)
    model.solver.Solve()
    short = 0.0
    for var in model.solver.variables():
        if var.name().startswith(("u1_", "u2_")):
            short += var.solution_value()
    never = sum(int(problem.requirements.required[:, p].sum()) for p in _uncovered(problem, candidates))
    return (short + never) * PERIOD_MIN / 60


def _uncovered(problem: RosterProblem, candidates: Sequence[Candidate]) -> list[int]:
    req = problem.requirements
    covered = np.zeros(req.n_periods, dtype=bool)
    for c in candidates:
        covered[max(c.p0, 0):min(c.p1, req.n_periods)] = True
    return [int(p) for p in np.flatnonzero(~covered & (req.required.sum(axis=0) > 0))]


def binding_rules(problem: RosterProblem, *, min_gain_hours: float = 0.25,
                  deadline: float | None = None) -> list[Explanation]:
    """Relax each rule family alone; report those that would cut the under-staffing, biggest first.
    One LP per rule family; families not reached by ``deadline`` (perf_counter time) are skipped."""
    base = under_hours_lp(problem)
    if base <= 1e-6:
        return []
    gains = []
    skipped = []
    for rule, relax in RELAXATIONS.items():
        if deadline is not None and perf_counter() > deadline:
            skipped.append(rule)
            continue
        gain = base - under_hours_lp(relax(problem))
        if gain >= min_gain_hours:
            gains.append((gain, rule))
    gains.sort(reverse=True)
    out = [Explanation(rule, f"relaxing it alone would cut under-staffing by {gain:.1f} of {base:.1f} agent-hours"
                       + (" (binding)" if i == 0 else ""))
           for i, (gain, rule) in enumerate(gains)]
    if skipped:
        out.append(Explanation("time_limit", f"not tried within the time limit: {', '.join(skipped)}"))
    if not out:
        out.append(Explanation("coverage", f"{base:.1f} agent-hours short even with each rule relaxed alone: "
                               "several rules bind together"))
    return out

