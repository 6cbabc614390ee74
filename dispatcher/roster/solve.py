"""One interface for rostering: ``solve_roster(problem, time_limit_s, workers, seed)``.

A decomposition (see the package docstring and benchmarks/roster.py): (1) counts per group of like
agents, day and template, with break starts and per-skill-set allocation — an LP (GLOP) whose optimum
is the reported bound, then LP diving to integer counts; (2) named agents onto those shifts by a small
CP-SAT model per group, hinted by a greedy; (3) breaks as the LP spread them; (4) a local search on
the named roster (change / move / drop / add a shift, slide a break) under all hard rules; (5) one
skill per period for multi-skill agents by an exact min-cost flow. Time: ``COUNT_SHARE`` of the limit
for (1), ``ASSIGN_SHARE`` of the rest for (2), the remainder for (4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial
from time import perf_counter
from typing import Any

import numpy as np

from dispatcher.domain import Interval, Roster, Shift, SkillBlock
from dispatcher.errors import InvalidInput
from dispatcher.roster import counts as count_model
from dispatcher.roster.assign import Assignment, assign_group
from dispatcher.roster.evaluate import fairness_of, objective_of
from dispatcher.roster.explain import binding_rules, precheck
from dispatcher.roster.grid import Candidate, Group, build_candidates, build_groups
from dispatcher.roster.improve import Placed, cell_cost, improve, scheduled_by_skill
from dispatcher.roster.named_mip import improve_named, solve_breaks, solve_named
from dispatcher.roster.patterns import solve_patterns
from dispatcher.roster.problem import PERIOD, PERIOD_MIN, RosterProblem
from dispatcher.roster.result import Explanation, Objective, RosterResult
from dispatcher.roster.rules import ASSIGN_CORE, ASSIGN_RULES, COUNT_RULES, breaks, coverage

Progress = Callable[[str, dict[str, Any]], None]
COUNT_SHARE = 0.45
"""Of the time limit: build, LP and diving."""
ASSIGN_SHARE = 0.5
"""Of what is left: naming agents (the rest goes to the local search)."""
METHODS = ("decomposition", "mip", "lns", "patterns")
"""``decomposition``: stages 1-5 use the whole time limit. ``mip``: the decomposition's roster by
``HEURISTIC_SHARE`` of the limit, then the named MIP (``named_mip.py``, HiGHS) started from it with
the rest; the better roster is kept and HiGHS's bound, when higher, replaces the LP bound. ``lns``:
as ``mip``, but the rest of the time goes to large-neighbourhood steps on the named MIP (a few agents'
shifts re-planned by HiGHS at a time, ``named_mip.improve_named``). ``patterns``: as ``mip``, but the rest
goes to the pattern model (``patterns.py``): column generation seeded with the decomposition's
patterns, the integer master in HiGHS, then the local search again."""
HEURISTIC_SHARE = 0.5
MIN_MIP_SECONDS = 1.0
PATTERN_LP_SHARE = 0.4
"""Of the time after the decomposition: column generation (the rest: integer master, local search)."""
PATTERN_MIP_SHARE = 0.3
EXACT_BREAKS_SHARE = 0.25
"""Of the time limit, kept at the end for placing every break exactly on the final shifts and searching
from there (``_polish``)."""
MIN_BREAKS_SECONDS = 1.0
MIP_AFTER_SHARE = 0.08
"""Of the time limit, kept after the MIP for its roster's breaks, skills and scoring."""


def solve_roster(problem: RosterProblem, *, time_limit_s: float = 60.0, workers: int = 2, seed: int = 0,
                 explain: bool = True, progress: Progress | None = None,
                 method: str = "decomposition", exact_breaks: bool = True) -> RosterResult:
    """Best roster found within the time limit; never raises for conflicting rules (see explanations).

    ``exact_breaks``: keep ``EXACT_BREAKS_SHARE`` of the limit to place every break exactly on the final
    shifts and search on from there (``_polish``); False is the previous method (benchmarks compare)."""
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}, got {method!r}", field="method")
    t_end = time_limit_s * 0.97
    # too short a limit to place breaks exactly and search on: all of it to the decomposition
    polish_share = EXACT_BREAKS_SHARE if exact_breaks and time_limit_s * EXACT_BREAKS_SHARE >= 2 * MIN_BREAKS_SECONDS \
        else 0.0
    budget = time_limit_s * (HEURISTIC_SHARE if method in ("mip", "lns", "patterns") else 1 - polish_share)
    """The decomposition's time limit: all of it, or its share before the MIP."""
    report: Progress = progress or (lambda _stage, _info: None)
    t0 = perf_counter()
    req = problem.requirements
    w = problem.weights
    candidates = build_candidates(problem)
    pre = precheck(problem, candidates)
    groups = build_groups(problem, candidates, pre.lowered_minimum)
    week_start = problem.weeks[0].start
    pins = Roster(week_start, problem.pins)
    pin_objective, pin_coverage, _ = objective_of(pins, problem.agents, problem.templates, req, w)
    required = np.clip(req.required - pin_coverage.scheduled, 0, None)
    model = count_model.build(problem, candidates, groups, COUNT_RULES, required,
                              constant=pin_objective.total - pin_objective.under)
    t_build = perf_counter() - t0
    report("build", {"candidates": len(candidates), "groups": len(groups), "seconds": t_build})
    stage1_limit = max(budget * COUNT_SHARE - t_build, 0.2)
    sol = count_model.solve(model, time_limit_s=stage1_limit, workers=workers)
    report("counts", {"lp_bound": sol.lp_bound, "optimal": sol.optimal, "seconds": sol.seconds_lp})
    t_counts = perf_counter() - t0

    by_group: dict[int, dict[int, int]] = defaultdict(dict)
    for (g, ci), k in sol.counts.items():
        by_group[g][ci] = k
    explanations = list(pre.explanations)
    assigned: dict[tuple[int, int], list[str]] = defaultdict(list)
    remaining = max(budget - (perf_counter() - t0), 0.5)
    busy = [g for g in groups if by_group.get(g.index) or g.limits.min_quarters > 0]
    agents_busy = sum(g.size for g in busy) or 1

    def run(group: Group) -> Assignment:
        share = max(remaining * ASSIGN_SHARE * group.size / agents_busy * max(workers, 1), 0.05)
        return assign_group(problem, group, candidates, by_group.get(group.index, {}), len(req.days), ASSIGN_RULES,
                            core=ASSIGN_CORE, time_limit_s=share, workers=1, seed=seed)

    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:  # CP-SAT releases the GIL
        for done, (group, result) in enumerate(zip(busy, pool.map(run, busy), strict=True), start=1):
            for agent_id, cis in result.shifts.items():
                for ci in cis:
                    assigned[group.index, ci].append(agent_id)
            report("assign", {"done": done, "total": len(busy)})
    t_assign = perf_counter() - t0

    order = sorted((ci, agent_id, g) for (g, ci), agent_ids in assigned.items() for agent_id in agent_ids)
    plans: list[list[int]] = []  # breaks spread as the LP spread them, per candidate shift
    by_candidate: dict[int, int] = defaultdict(int)
    for ci, _, _ in order:
        by_candidate[ci] += 1
    for ci, k in sorted(by_candidate.items()):
        c = candidates[ci]
        plans += breaks.place(c, k, [sol.break_share.get((ci, b)) for b in range(len(c.breaks))])
    placed = [Placed(agent_id, g, candidates[ci], plan) for (ci, agent_id, g), plan in zip(order, plans, strict=True)]
    _allocate_skills(placed, groups, required, problem)
    first_objective, t_first = _cost(placed, problem, week_start), perf_counter() - t0
    report("first", {"objective": first_objective, "lp_bound": sol.lp_bound, "seconds": t_first})
    moves = improve(placed, candidates, groups, required, problem, deadline=t0 + budget * 0.97,
                    place_breaks=breaks.best_offsets)
    report("improve", {"moves": moves})
    _improve_breaks(placed, required, problem)
    _allocate_skills(placed, groups, required, problem)
    bound = sol.lp_bound
    mip_seconds = 0.0
    left = t0 + t_end - perf_counter() - time_limit_s * (MIP_AFTER_SHARE + polish_share)
    if method == "patterns" and left >= MIN_MIP_SECONDS:
        t_p = perf_counter()
        patterned = solve_patterns(problem, candidates, groups, required, start=placed,
                                   constant=pin_objective.total - pin_objective.under,
                                   deadline_lp=t_p + left * PATTERN_LP_SHARE,
                                   deadline_mip=t_p + left * (PATTERN_LP_SHARE + PATTERN_MIP_SHARE))
        bound = max(bound, patterned.bound)
        report("patterns", {"objective": patterned.objective, "bound": patterned.bound, "columns": patterned.columns,
                            "iterations": patterned.iterations, "converged": patterned.converged,
                            "seconds": patterned.seconds})
        if patterned.placed is not None:
            candidate_roster = patterned.placed
            _allocate_skills(candidate_roster, groups, required, problem)
            improve(candidate_roster, candidates, groups, required, problem, deadline=t_p + left,
                    place_breaks=breaks.best_offsets)
            _improve_breaks(candidate_roster, required, problem)
            _allocate_skills(candidate_roster, groups, required, problem)
            if _cost(candidate_roster, problem, week_start) < _cost(placed, problem, week_start) - 1e-9:
                placed = candidate_roster
        mip_seconds = perf_counter() - t_p
    if method in ("mip", "lns") and left >= MIN_MIP_SECONDS:
        search = solve_named if method == "mip" else partial(improve_named, seed=seed)
        outcome = search(problem, candidates, groups, required, start=placed, time_limit_s=left,
                         constant=pin_objective.total - pin_objective.under)
        mip_seconds = outcome.seconds
        bound = max(bound, outcome.bound)
        report("mip", {"objective": outcome.objective, "bound": outcome.bound, "seconds": outcome.seconds})
        if outcome.placed is not None:
            _improve_breaks(outcome.placed, required, problem)
            _allocate_skills(outcome.placed, groups, required, problem)
            if _cost(outcome.placed, problem, week_start) < _cost(placed, problem, week_start) - 1e-9:
                placed = outcome.placed
    if polish_share > 0:
        placed = _polish(placed, problem, candidates, groups, required,
                         constant=pin_objective.total - pin_objective.under,
                         deadline=t0 + t_end - time_limit_s * MIP_AFTER_SHARE / 2, report=report)
    paid_q: dict[tuple[str, int], int] = defaultdict(int)
    for pl in placed:
        paid_q[pl.agent_id, pl.candidate.week] += pl.candidate.paid_quarters
    for grp in groups:
        for a in grp.agents:
            for k, week in enumerate(grp.limits.weeks):
                short = week.min_quarters - paid_q[a.id, k]
                if short > 0:
                    explanations.append(Explanation(
                        "min_hours_week", f"{short * PERIOD_MIN / 60:g} h below the contract minimum in the week "
                        f"{problem.weeks[k].label()}: no roster found within the time limit keeps rest, days and "
                        "availability and reaches it", agent_id=a.id))
    shifts = [_to_shift(p, problem) for p in placed]
    roster = Roster(week_start, tuple(problem.pins) + tuple(shifts))
    objective, cov, paid = objective_of(roster, problem.agents, problem.templates, req, w)
    changed = _changed_shifts(problem, roster)
    objective = Objective(objective.under, objective.over, objective.labour, objective.auxiliary, w.change * changed)
    t_total = perf_counter() - t0
    report("done", {"objective": objective.total, "lp_bound": bound})
    if explain and objective.under > 0 and cov.under_hours and sum(cov.under_hours.values()) > 0:
        explanations.extend(binding_rules(problem, deadline=t0 + time_limit_s * 1.5))
    relaxed = any(e.rule in ("min_hours_week", "availability") for e in explanations)
    # "optimal" only when proven: the decomposition's stages may each be optimal while the roster
    # still sits above the LP bound.
    proven = objective.total - bound <= 1e-6 * max(1.0, abs(objective.total))
    optimal = sol.optimal and proven
    status = "partial" if relaxed else ("optimal" if optimal else "feasible")
    return RosterResult(
        roster=roster, coverage=cov, objective=objective, bound=bound, status=status,
        fairness=fairness_of(roster, problem.agents, problem.templates, problem.weeks), paid_hours=paid,
        changed_shifts=changed,
        explanations=tuple(explanations),
        timings={"build": t_build, "lp": sol.seconds_lp, "counts": t_counts, "assign": t_assign - t_counts,
                 "first": t_first, "mip": mip_seconds, "total": t_total},
        weeks=problem.weeks, first_objective=first_objective,
    )


def _polish(placed: list[Placed], problem: RosterProblem, candidates: Sequence[Candidate], groups: Sequence[Group],
            required: np.ndarray, *, constant: float, deadline: float, report: Progress) -> list[Placed]:
    """Until the deadline: every break placed exactly on the shifts as they are (``named_mip.solve_breaks``),
    then the local search from there; repeated while the exact placement still gains."""
    week_start = problem.weeks[0].start
    best = _cost(placed, problem, week_start)
    while deadline - perf_counter() >= MIN_BREAKS_SECONDS:
        exact = solve_breaks(problem, candidates, groups, required, placed, constant=constant,
                             time_limit_s=deadline - perf_counter())
        if exact.placed is None:
            break
        _allocate_skills(exact.placed, groups, required, problem)
        cost = _cost(exact.placed, problem, week_start)
        report("breaks", {"before": best, "objective": cost, "optimal": exact.optimal, "seconds": exact.seconds})
        if cost >= best - 1e-9:
            break
        placed, best = exact.placed, cost
        if deadline - perf_counter() < MIN_BREAKS_SECONDS:
            break
        halfway = perf_counter() + (deadline - perf_counter()) / 2
        improve(placed, candidates, groups, required, problem, deadline=halfway, place_breaks=breaks.best_offsets)
        _improve_breaks(placed, required, problem)
        _allocate_skills(placed, groups, required, problem)
        best = _cost(placed, problem, week_start)
    return placed


def _cost(placed: Sequence[Placed], problem: RosterProblem, week_start: date) -> float:
    """The reported objective (less changes, which both rosters share the rule for) of named shifts."""
    roster = Roster(week_start, tuple(problem.pins) + tuple(_to_shift(p, problem) for p in placed))
    objective, _, _ = objective_of(roster, problem.agents, problem.templates, problem.requirements, problem.weights)
    return objective.total + problem.weights.change * _changed_shifts(problem, roster)


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


def _improve_breaks(placed: Sequence[Placed], required: np.ndarray, problem: RosterProblem, passes: int = 6) -> bool:
    """Local search: move each break to the offset in its window that lowers the exact coverage cost,
    the agent keeping the skill it works around the break. Returns whether anything moved."""
    req = problem.requirements
    index = {s: i for i, s in enumerate(req.skills)}
    n = req.n_periods
    w = problem.weights
    scheduled = scheduled_by_skill(placed, required, problem)

    def delta(cells: list[tuple[int, int]], sign: int) -> float:
        total = 0.0
        for si, p in cells:
            r, x = int(required[si, p]), int(scheduled[si, p])
            total += cell_cost(r, x + sign, w) - cell_cost(r, x, w)
        return total

    moved = False
    for _ in range(passes):
        changed = False
        for pl in placed:
            c = pl.candidate
            for b, slots in enumerate(c.breaks):
                current = pl.break_offsets[b]
                near = [pl.skills[i] for i in (current - 1, current + slots.length) if 0 <= i < len(pl.skills)]
                skill = next((x for x in near if x is not None), None)
                if skill is None or skill not in index:
                    continue
                si = index[skill]
                others = [(o, c.breaks[j].length) for j, o in enumerate(pl.break_offsets) if j != b]
                back = [(si, c.p0 + i) for i in range(current, current + slots.length) if 0 <= c.p0 + i < n]
                gain_back = delta(back, +1)
                best, best_delta = current, 0.0
                for o in slots.offsets:
                    if o == current or not all(o + slots.length <= t0 or t0 + tl <= o for t0, tl in others):
                        continue
                    span = range(o, o + slots.length)
                    if any(pl.skills[i] != skill and not current <= i < current + slots.length for i in span):
                        continue  # only slide within the same skill block
                    away = [(si, c.p0 + i) for i in span if 0 <= c.p0 + i < n]
                    for cell in back:
                        scheduled[cell] += 1
                    d = gain_back + delta(away, -1)
                    for cell in back:
                        scheduled[cell] -= 1
                    if d < best_delta - 1e-9:
                        best, best_delta = o, d
                if best != current:
                    for i in range(current, current + slots.length):
                        pl.skills[i] = skill
                    for cell in back:
                        scheduled[cell] += 1
                    for i in range(best, best + slots.length):
                        pl.skills[i] = None
                        if 0 <= c.p0 + i < n:
                            scheduled[si, c.p0 + i] -= 1
                    pl.break_offsets[b] = best
                    changed = moved = True
        if not changed:
            break
    return moved


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
