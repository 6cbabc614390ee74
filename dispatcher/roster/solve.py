"""One interface for rostering: ``solve_roster(problem, time_limit_s, workers, seed)``.

Measured choice (see benchmarks/roster.py): a decomposition. (1) counts per group of like agents,
day and template, with break starts and per-period skill allocation, by HiGHS MIP — its LP
relaxation is the reported bound; (2) named agents onto those shifts by a small CP-SAT model per
group (contracts, rest, days off, fairness, preferences, changes); (3) breaks handed out as stage 1
placed them; (4) multi-skill agents given one skill per period by an exact min-cost flow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np

from dispatcher.domain import Interval, Roster, Shift, SkillBlock
from dispatcher.roster import counts as count_model
from dispatcher.roster.assign import Assignment, AssignRule, assign_group
from dispatcher.roster.counts import Rule
from dispatcher.roster.evaluate import fairness_of, objective_of
from dispatcher.roster.explain import binding_rules, precheck
from dispatcher.roster.grid import Candidate, Group, build_candidates, build_groups
from dispatcher.roster.problem import PERIOD, PERIOD_MIN, RosterProblem, week_monday
from dispatcher.roster.result import Explanation, Objective, RosterResult
from dispatcher.roster.rules import breaks, contract, cost, coverage, fairness, preferences, rest, stability

COUNT_RULES: tuple[Rule, ...] = (contract.counts, rest.counts, breaks.counts, coverage.counts, cost.counts,
                                 stability.counts)
ASSIGN_RULES: tuple[AssignRule, ...] = (contract.assign, rest.assign, coverage.assign, fairness.assign,
                                        preferences.assign, stability.assign)
ASSIGN_CORE: tuple[AssignRule, ...] = (contract.assign, rest.assign, coverage.assign)
"""Hard rules plus following the counts: solved first, it hints the full model."""

Progress = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True)
class Placed:
    agent_id: str
    group: int
    candidate: Candidate
    break_offsets: list[int]
    skills: list[str | None] = field(default_factory=list)


def solve_roster(problem: RosterProblem, *, time_limit_s: float = 60.0, workers: int = 2, seed: int = 0,
                 explain: bool = True, progress: Progress | None = None) -> RosterResult:
    """Best roster found within the time limit; never raises for conflicting rules (see explanations)."""
    report: Progress = progress or (lambda _stage, _info: None)
    t0 = perf_counter()
    req = problem.requirements
    w = problem.weights
    candidates = build_candidates(problem)
    pre = precheck(problem, candidates)
    groups = build_groups(problem, candidates, pre.lowered_minimum)
    week_start = week_monday(req.days[0])
    pins = Roster(week_start, problem.pins)
    pin_objective, pin_coverage, _ = objective_of(pins, problem.agents, problem.templates, req, w)
    required = np.clip(req.required - pin_coverage.scheduled, 0, None)
    model = count_model.build(problem, candidates, groups, COUNT_RULES, required,
                              constant=pin_objective.total - pin_objective.under)
    t_build = perf_counter() - t0
    report("build", {"candidates": len(candidates), "groups": len(groups), "seconds": t_build})
    stage1_limit = max(time_limit_s * 0.6 - t_build, 0.2)
    sol = count_model.solve(model, time_limit_s=stage1_limit, workers=workers)
    report("counts", {"lp_bound": sol.lp_bound, "optimal": sol.optimal, "seconds": sol.seconds_lp})
    t_counts = perf_counter() - t0

    by_group: dict[int, dict[int, int]] = defaultdict(dict)
    for (g, ci), k in sol.counts.items():
        by_group[g][ci] = k
    explanations = list(pre.explanations)
    assigned: dict[tuple[int, int], list[str]] = defaultdict(list)
    statuses = []
    remaining = max(time_limit_s - (perf_counter() - t0), 0.5)
    busy = [g for g in groups if by_group.get(g.index) or g.limits.min_quarters > 0]
    agents_busy = sum(g.size for g in busy) or 1

    def run(group: Group) -> Assignment:
        share = max(remaining * 0.8 * group.size / agents_busy * max(workers, 1), 0.3)
        return assign_group(problem, group, candidates, by_group.get(group.index, {}), len(req.days), ASSIGN_RULES,
                            core=ASSIGN_CORE, time_limit_s=share, workers=1, seed=seed)

    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:  # CP-SAT releases the GIL
        for done, (group, result) in enumerate(zip(busy, pool.map(run, busy), strict=True), start=1):
            statuses.append(result.status)
            for agent_id, cis in result.shifts.items():
                for ci in cis:
                    assigned[group.index, ci].append(agent_id)
            for agent_id, short in result.short_of_minimum.items():
                explanations.append(Explanation(
                    "min_hours_week", f"{short * PERIOD_MIN / 60:g} h below the contract minimum: no assignment "
                    "keeping rest, days and availability reached it within the time limit", agent_id=agent_id))
            report("assign", {"done": done, "total": len(busy)})
    t_assign = perf_counter() - t0

    order = sorted((ci, agent_id, g) for (g, ci), agent_ids in assigned.items() for agent_id in agent_ids)
    at_work = np.zeros(req.n_periods, dtype=np.int64)
    for ci, _, _ in order:
        c = candidates[ci]
        at_work[max(c.p0, 0):min(c.p1, req.n_periods)] += 1
    plans = breaks.place_by_slack([(candidates[ci], 0) for ci, _, _ in order], at_work, required.sum(axis=0))
    placed = [Placed(agent_id, g, candidates[ci], plan) for (ci, agent_id, g), plan in zip(order, plans, strict=True)]
    _allocate_skills(placed, groups, required, problem)
    shifts = [_to_shift(p, problem) for p in placed]
    roster = Roster(week_start, tuple(problem.pins) + tuple(shifts))
    objective, cov, paid = objective_of(roster, problem.agents, problem.templates, req, w)
    changed = _changed_shifts(problem, roster)
    objective = Objective(objective.under, objective.over, objective.labour, objective.auxiliary, w.change * changed)
    t_total = perf_counter() - t0
    report("done", {"objective": objective.total, "lp_bound": sol.lp_bound})
    if explain and objective.under > 0 and cov.under_hours and sum(cov.under_hours.values()) > 0:
        explanations.extend(binding_rules(problem))
    relaxed = any(e.rule in ("min_hours_week", "availability") for e in explanations)
    optimal = sol.optimal and all(s == "optimal" for s in statuses)
    status = "partial" if relaxed else ("optimal" if optimal else "feasible")
    return RosterResult(
        roster=roster, coverage=cov, objective=objective, bound=sol.lp_bound, status=status,
        fairness=fairness_of(roster, problem.agents, problem.templates), paid_hours=paid, changed_shifts=changed,
        explanations=tuple(explanations),
        timings={"build": t_build, "lp": sol.seconds_lp, "counts": t_counts, "assign": t_assign - t_counts,
                 "total": t_total},
    )


def _allocate_skills(placed: Sequence[Placed], groups: Sequence[Group], required: np.ndarray,
                     problem: RosterProblem) -> None:
    """Per period an exact allocation of at-work agents to skills, kept sticky between periods."""
    req = problem.requirements
    at_work: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    agents = {a.id: a for a in problem.agents}
    for k, pl in enumerate(placed):
        c = pl.candidate
        length = c.p1 - c.p0
        off = [False] * length
        for b, start in enumerate(pl.break_offsets):
            for i in range(start, min(start + c.breaks[b].length, length)):
                off[i] = True
        default = sorted(agents[pl.agent_id].primary_skills or agents[pl.agent_id].skills)[0]
        pl.skills = [None if off[i] else default for i in range(length)]
        for i in range(length):
            if not off[i] and 0 <= c.p0 + i < req.n_periods:
                at_work[c.p0 + i][pl.group].append(k)
    last: dict[int, str] = {}
    for p in sorted(at_work):
        alloc = coverage.allocate(at_work[p], groups, required, req.skills, p, problem.weights)
        for g, members in at_work[p].items():
            quota = dict(alloc.get(g, {}))
            if not quota:
                continue
            rest_ = []
            for k in members:
                prev = last.get(k)
                if prev is not None and quota.get(prev, 0) > 0:
                    quota[prev] -= 1
                    placed[k].skills[p - placed[k].candidate.p0] = prev
                else:
                    rest_.append(k)
            for k in rest_:
                primary = agents[placed[k].agent_id].primary_skills
                skill = max(quota, key=lambda s: (quota[s] > 0, s in primary, s))
                quota[skill] -= 1
                placed[k].skills[p - placed[k].candidate.p0] = skill
                last[k] = skill


def _to_shift(pl: Placed, problem: RosterProblem) -> Shift:
    c = pl.candidate
    brks = tuple(Interval(c.start + o * PERIOD, c.start + (o + c.breaks[b].length) * PERIOD)
                 for b, o in enumerate(pl.break_offsets))
    blocks: list[SkillBlock] = []
    current: str | None = None
    block_start = 0
    filled = list(pl.skills)
    for i, s in enumerate(filled):  # breaks take the skill before them (or after, at the start)
        if s is None:
            filled[i] = filled[i - 1] if i else next((x for x in pl.skills if x is not None), None)
    for i, s in enumerate([*filled, "\0end"]):
        if s != current:
            if current is not None:
                blocks.append(SkillBlock(c.start + block_start * PERIOD, c.start + i * PERIOD, current))
            current, block_start = s, i
    return Shift(pl.agent_id, c.start, c.end, brks, tuple(blocks), c.template.name)


def _changed_shifts(problem: RosterProblem, roster: Roster) -> int:
    if problem.published is None:
        return 0
    now = {(s.agent_id, s.start, s.end) for s in roster.shifts}
    return sum((s.agent_id, s.start, s.end) not in now for s in problem.published.shifts)
