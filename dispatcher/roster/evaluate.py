"""Score any roster against the requirement curve: coverage per period, objective terms, fairness."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dispatcher.domain import Agent, Roster, Shift, ShiftTemplate
from dispatcher.roster.grid import LATE_END
from dispatcher.roster.problem import PERIOD, Requirements, Weights
from dispatcher.roster.result import Coverage, Fairness, Objective
from dispatcher.roster.weeks import PlanningWeek, has_days_off_pair, pair_possible, week_contract


def shift_paid_hours(shift: Shift, templates: Sequence[ShiftTemplate]) -> float:
    """Shift length less the breaks its template calls unpaid (breaks of unknown shifts: unpaid)."""
    flags = [False] * len(shift.breaks)
    local = shift.start.time()
    for t in templates:
        if t.start == local and t.length == shift.end - shift.start and len(t.breaks) == len(shift.breaks):
            flags = [b.paid for b in t.breaks]
            break
    unpaid = sum(b.seconds for b, paid in zip(shift.breaks, flags, strict=True) if not paid)
    return ((shift.end - shift.start).total_seconds() - unpaid) / 3600


def shift_quarters(template: ShiftTemplate) -> float:
    """Paid quarter-hours of a shift of ``template``."""
    unpaid = sum(b.length_min for b in template.breaks if not b.paid)
    return (template.length.total_seconds() / 60 - unpaid) / 15


def shift_skill_periods(shift: Shift, agent: Agent, req: Requirements) -> tuple[int, list[str | None]]:
    """First period and the skill worked in each period of the shift (None on a break)."""
    p0 = req.period_of(shift.start)
    n = int((shift.end - shift.start) / PERIOD)
    default = sorted(agent.primary_skills or agent.skills)[0]
    skills: list[str | None] = [None if shift.skill_plan else default] * n
    for block in shift.skill_plan:
        a = max(req.period_of(block.start) - p0, 0)
        b = min(req.period_of(block.end) - p0, n)
        for i in range(a, b):
            skills[i] = block.skill
    for brk in shift.breaks:
        a = max(req.period_of(brk.start) - p0, 0)
        b = min(req.period_of(brk.end) - p0, n)
        for i in range(a, b):
            skills[i] = None
    return p0, skills


def coverage_of(roster: Roster, agents: Sequence[Agent], req: Requirements) -> tuple[Coverage, int, int]:
    """Coverage of the required skills, plus agent-periods on unrequired skills and on auxiliary skills."""
    by_id = {a.id: a for a in agents}
    index = {s: i for i, s in enumerate(req.skills)}
    scheduled = np.zeros_like(req.required)
    unrequired = 0
    auxiliary = 0
    for shift in roster.shifts:
        agent = by_id[shift.agent_id]
        p0, skills = shift_skill_periods(shift, agent, req)
        for i, skill in enumerate(skills):
            if skill is None:
                continue
            p = p0 + i
            si = index.get(skill)
            if si is None or not 0 <= p < req.n_periods:
                unrequired += 1
                continue
            scheduled[si, p] += 1
            if agent.primary_skills and skill not in agent.primary_skills:
                auxiliary += 1
    return Coverage(req.origin, req.skills, req.required, scheduled), unrequired, auxiliary


def under_cost(short: npt.NDArray[np.int64], weights: Weights) -> float:
    first = np.minimum(short, 1).sum()
    rest = np.clip(short - 1, 0, None).sum()
    return float(weights.under * first + weights.under * weights.under_steep * rest)


def objective_of(roster: Roster, agents: Sequence[Agent], templates: Sequence[ShiftTemplate],
                 req: Requirements, weights: Weights) -> tuple[Objective, Coverage, float]:
    coverage, unrequired, auxiliary = coverage_of(roster, agents, req)
    short = np.clip(coverage.required - coverage.scheduled, 0, None)
    extra = int(np.clip(coverage.scheduled - coverage.required, 0, None).sum()) + unrequired
    paid = sum(shift_paid_hours(s, templates) for s in roster.shifts)
    objective = Objective(
        under=under_cost(short, weights),
        over=weights.over * extra,
        labour=weights.labour_per_hour * paid,
        auxiliary=weights.auxiliary * auxiliary,
    )
    return objective, coverage, paid


def fairness_of(roster: Roster, agents: Sequence[Agent], templates: Sequence[ShiftTemplate],
                weeks: Sequence[PlanningWeek]) -> Fairness:
    """Spreads within each contract type (full/part time differ by design), worst over contracts; and
    two consecutive days off per planning week, counted where the week and the contract minimum
    allow them (``weeks.pair_possible``)."""
    by_agent = roster.by_agent()
    groups: dict[object, list[Agent]] = defaultdict(list)
    for a in agents:
        groups[a.contract].append(a)
    weekend_spread = late_spread = 0
    ratio_spread = 0.0
    no_pair = 0
    pair_weeks = eligible_weeks = 0
    first = weeks[0].days[0] if weeks else roster.week_start
    longest = max((round(shift_quarters(t)) for t in templates), default=0)
    for members in groups.values():
        weekend, late, ratio = [], [], []
        for a in members:
            shifts = by_agent.get(a.id, [])
            weekend.append(sum(s.start.weekday() >= 5 for s in shifts))
            late.append(sum(s.end.date() > s.start.date() or s.end.time() > LATE_END for s in shifts))
            hours = sum(shift_paid_hours(s, templates) for s in shifts)
            ratio.append(hours / a.contract.max_hours_week if a.contract.max_hours_week else 0.0)
            worked = {(s.start.date() - first).days for s in shifts}
            eligible = [tuple((d - first).days for d in w.days) for w in weeks
                        if pair_possible(len(w.days), week_contract(a.contract, w).min_quarters, longest)]
            paired = sum(has_days_off_pair(days, worked) for days in eligible)
            pair_weeks += paired
            eligible_weeks += len(eligible)
            if paired < len(eligible):
                no_pair += 1
        weekend_spread = max(weekend_spread, max(weekend) - min(weekend))
        late_spread = max(late_spread, max(late) - min(late))
        ratio_spread = max(ratio_spread, max(ratio) - min(ratio))
    share = pair_weeks / eligible_weeks if eligible_weeks else 1.0
    return Fairness(weekend_spread, late_spread, round(ratio_spread, 4), no_pair, round(share, 4))
