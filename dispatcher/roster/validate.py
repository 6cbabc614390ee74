"""Check any roster (solver output or hand-made) against every rule, without the solver.

Knows nothing of the model: it reads shifts, templates, contracts, availability and pins, and
reports each violation with the rule, agent and day at fault. Weekly limits hold per planning week
(``problem.weeks``, pro-rated when partial), the same weeks the solver plans.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dispatcher.domain import Contract, Roster, Shift, ShiftTemplate
from dispatcher.roster.problem import RosterProblem
from dispatcher.roster.rules.contract import days_over, hours_outside, long_runs
from dispatcher.roster.weeks import QUARTERS_PER_HOUR, PlanningWeek, week_contract, week_of


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    agent_id: str
    day: date | None
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] agent {self.agent_id}{' on ' + self.day.isoformat() if self.day else ''}: {self.message}"


def _template_of(shift: Shift, templates: tuple[ShiftTemplate, ...], local_start: datetime) -> ShiftTemplate | None:
    for t in templates:
        if t.start == local_start.time().replace(tzinfo=None) and t.length == shift.end - shift.start:
            return t
    return None


def paid_hours(shift: Shift, template: ShiftTemplate | None) -> float:
    unpaid = 0.0
    if template is not None and len(template.breaks) == len(shift.breaks):
        unpaid = sum(b.seconds for b, rule in zip(shift.breaks, template.breaks, strict=True) if not rule.paid)
    else:
        unpaid = sum(b.seconds for b in shift.breaks)
    return ((shift.end - shift.start).total_seconds() - unpaid) / 3600


def _check_breaks(shift: Shift, template: ShiftTemplate, day: date) -> list[Violation]:
    out = []
    if len(shift.breaks) != len(template.breaks):
        return [Violation("breaks", shift.agent_id, day,
                          f"{len(shift.breaks)} break(s) but template {template.name} has {len(template.breaks)}")]
    rules = sorted(template.breaks, key=lambda r: (r.earliest_start_min, r.latest_start_min))
    for brk, rule in zip(shift.breaks, rules, strict=True):
        offset = (brk.start - shift.start).total_seconds() / 60
        length = brk.seconds / 60
        if length != rule.length_min or not rule.earliest_start_min <= offset <= rule.latest_start_min:
            out.append(Violation("breaks", shift.agent_id, day,
                                 f"break at +{offset:g} min for {length:g} min; template {template.name} wants "
                                 f"{rule.length_min} min starting "
                                 f"+{rule.earliest_start_min}..+{rule.latest_start_min}"))
    for a, b in zip(shift.breaks, shift.breaks[1:], strict=False):
        if b.start < a.end:
            out.append(Violation("breaks", shift.agent_id, day, "breaks overlap"))
    return out


def _check_skills(shift: Shift, skills: frozenset[str], day: date) -> list[Violation]:
    out = []
    for block in shift.skill_plan:
        if block.skill not in skills:
            out.append(Violation("skills", shift.agent_id, day, f"works {block.skill!r}, a skill the agent lacks"))
    if shift.skill_plan:
        moment, step = shift.start, timedelta(minutes=15)
        while moment < shift.end:
            if shift.on_duty(moment) and shift.skill_at(moment) is None:
                out.append(Violation("skill_plan", shift.agent_id, day,
                                     f"no skill planned at {moment.isoformat()} while at work"))
                break
            moment += step
    return out


def validate_roster(roster: Roster, problem: RosterProblem) -> list[Violation]:
    """Every rule violation of ``roster``; an empty list means the roster keeps all rules."""
    tz = problem.tz
    agents = {a.id: a for a in problem.agents}
    out: list[Violation] = []
    by_agent: dict[str, list[Shift]] = defaultdict(list)
    for shift in roster.shifts:
        if shift.agent_id not in agents:
            out.append(Violation("agent", shift.agent_id, None, "unknown agent"))
            continue
        by_agent[shift.agent_id].append(shift)
    present = {(s.agent_id, s.start, s.end) for s in roster.shifts}
    for pin in problem.pins:
        if (pin.agent_id, pin.start, pin.end) not in present:
            out.append(Violation("pins", pin.agent_id, pin.start.astimezone(tz).date(),
                                 f"pinned shift {pin.start.isoformat()} - {pin.end.isoformat()} is missing"))
    weeks = problem.weeks
    for agent_id, shifts in by_agent.items():
        agent = agents[agent_id]
        c = agent.contract
        shifts = sorted(shifts, key=lambda s: s.start)
        for shift in shifts:
            local = shift.start.astimezone(tz)
            day = local.date()
            template = _template_of(shift, problem.templates, local)
            if template is None:
                out.append(Violation("template", agent_id, day, f"{local.time()} for {shift.end - shift.start} "
                                     "matches no shift template"))
            else:
                out.extend(_check_breaks(shift, template, day))
            window = problem.availability_of(agent_id, day)
            midnight = datetime.combine(day, time(0), tzinfo=tz)
            if window is None:
                out.append(Violation("availability", agent_id, day, "works on a day off / absence"))
            elif not (window[0] <= shift.start - midnight and shift.end - midnight <= window[1]):
                out.append(Violation("availability", agent_id, day, "shift outside the agent's available hours"))
            out.extend(_check_skills(shift, frozenset(agent.skills), day))
            if week_of(weeks, day) is None:
                out.append(Violation("horizon", agent_id, day, f"shift outside the planning horizon "
                                     f"{weeks[0].days[0].isoformat()}..{weeks[-1].days[-1].isoformat()}"))
        for prev, nxt in itertools.pairwise(shifts):
            day = nxt.start.astimezone(tz).date()
            if prev.start.astimezone(tz).date() == day:
                out.append(Violation("one_shift_per_day", agent_id, day, "two shifts on one day"))
            if nxt.start < prev.end:
                out.append(Violation("overlap", agent_id, day, "shifts overlap"))
            elif nxt.start - prev.end < timedelta(hours=c.min_rest_hours):
                rest = (nxt.start - prev.end).total_seconds() / 3600
                out.append(Violation("min_rest_hours", agent_id, day,
                                     f"{rest:g} h rest before this shift, contract needs {c.min_rest_hours:g} h"))
        worked = {s.start.astimezone(tz).date().toordinal() for s in shifts}
        for run in long_runs(worked, c.max_consecutive_days):
            out.append(Violation("max_consecutive_days", agent_id, date.fromordinal(run[-1]),
                                 f"{len(run)} consecutive days, max {c.max_consecutive_days}"))
    for agent in problem.agents:
        mine = by_agent.get(agent.id, [])
        for week in weeks:
            in_week = [s for s in mine if s.start.astimezone(tz).date() in week.days]
            out.extend(_check_week(agent.id, agent.contract, week, in_week, problem))
    return out


def _check_week(agent_id: str, contract: Contract, week: PlanningWeek, shifts: list[Shift],
                problem: RosterProblem) -> list[Violation]:
    """Weekly contract limits (pro-rated in a partial week) for one agent's shifts of one planning week."""
    tz = problem.tz
    limit = week_contract(contract, week)
    hours = sum(paid_hours(s, _template_of(s, problem.templates, s.start.astimezone(tz))) for s in shifts)
    under, over = hours_outside(hours * QUARTERS_PER_HOUR, limit.min_quarters - 1e-6, limit.max_quarters + 1e-6)
    days = {s.start.astimezone(tz).date() for s in shifts}
    where = f"the week {week.label()}"
    out = []
    if over > 0:
        out.append(Violation("max_hours_week", agent_id, week.days[0],
                             f"{hours:g} paid hours in {where}, max {limit.max_quarters / QUARTERS_PER_HOUR:g}"))
    if under > 0:
        out.append(Violation("min_hours_week", agent_id, week.days[0],
                             f"{hours:g} paid hours in {where}, min {limit.min_quarters / QUARTERS_PER_HOUR:g}"))
    if days_over(len(days), limit.max_days):
        out.append(Violation("max_days_week", agent_id, week.days[0],
                             f"{len(days)} days in {where}, max {limit.max_days}"))
    return out
