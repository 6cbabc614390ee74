"""Candidate shifts (day x template on the 15-minute grid) and groups of interchangeable agents.

Agents with the same skills, remaining contract and allowed shifts are one *group*: the count model
decides how many of a group work each shift, the assignment model then names who.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from dispatcher.domain import Agent, Shift, ShiftTemplate
from dispatcher.errors import InvalidInput
from dispatcher.roster.problem import PERIOD, PERIOD_MIN, RosterProblem
from dispatcher.roster.weeks import week_contract

LATE_END = time(20, 0)
"""A shift ending after this local time (or past midnight) is a late shift for fairness."""


@dataclass(frozen=True, slots=True)
class BreakSlots:
    length: int
    """Periods."""
    offsets: tuple[int, ...]
    """Allowed start offsets, in periods from the shift start."""
    paid: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    """One template on one day: a shift any agent could be given."""

    index: int
    day_index: int
    day: date
    template: ShiftTemplate
    start: datetime
    end: datetime
    p0: int
    p1: int
    """Covers periods p0 .. p1-1 of the requirement grid (before breaks)."""
    paid_quarters: int
    breaks: tuple[BreakSlots, ...]
    weekend: bool
    late: bool
    week: int = 0
    """Planning week (index into ``problem.weeks``)."""

    @property
    def paid_hours(self) -> float:
        return self.paid_quarters * PERIOD_MIN / 60


@dataclass(frozen=True, slots=True)
class WeekLimits:
    """An agent's contract for what is still to plan of one planning week (pins taken off)."""

    days: tuple[int, ...]
    """Day indices of the horizon in this week."""
    min_quarters: int
    max_quarters: int
    max_days: int
    min_relaxed_from: int | None = None
    """Original minimum when it had to be lowered because nothing could meet it."""


@dataclass(frozen=True, slots=True)
class AgentLimits:
    """An agent's contract over the horizon: one :class:`WeekLimits` per planning week, plus the
    limits that run across weeks (consecutive days, rest)."""

    weeks: tuple[WeekLimits, ...]
    max_consecutive: int
    min_rest: timedelta
    pinned_days: frozenset[int]

    @property
    def min_quarters(self) -> int:
        """Over the whole horizon (heuristics; the rules hold per week)."""
        return sum(w.min_quarters for w in self.weeks)

    @property
    def max_quarters(self) -> int:
        return sum(w.max_quarters for w in self.weeks)

    @property
    def max_days(self) -> int:
        return sum(w.max_days for w in self.weeks)

    def week_of_day(self, day_index: int) -> int:
        for k, w in enumerate(self.weeks):
            if day_index in w.days:
                return k
        raise ValueError(f"day {day_index} is in no planning week")


@dataclass(frozen=True, slots=True)
class Group:
    """Interchangeable agents: same skills, primary skills, limits and allowed candidates."""

    index: int
    agents: tuple[Agent, ...]
    skills: frozenset[str]
    primary: frozenset[str]
    limits: AgentLimits
    allowed: tuple[int, ...]
    """Candidate indices any agent of the group may work."""

    @property
    def size(self) -> int:
        return len(self.agents)


def _quarters(delta: timedelta, what: str) -> int:
    if delta % PERIOD:
        raise InvalidInput(f"{what} must be a multiple of {PERIOD_MIN} minutes", field="templates")
    return int(delta / PERIOD)


def build_candidates(problem: RosterProblem) -> list[Candidate]:
    """Every (day, template) whose span touches a period with a requirement, on the 15-minute grid."""
    req = problem.requirements
    needed = req.required.sum(axis=0) > 0
    out: list[Candidate] = []
    tz = problem.tz
    for t in problem.templates:
        if (t.start.hour * 60 + t.start.minute) % PERIOD_MIN or t.start.second:
            raise InvalidInput(f"shift template {t.name}: start {t.start} is not on the 15-minute grid",
                               field="start")
        _quarters(t.length, f"shift template {t.name}: length")
        for b in t.breaks:
            for v in (b.length_min, b.earliest_start_min, b.latest_start_min):
                if v % PERIOD_MIN:
                    raise InvalidInput(f"shift template {t.name}: break times must be multiples of "
                                       f"{PERIOD_MIN} minutes", field="breaks")
    week_of = {day: w.index for w in problem.weeks for day in w.days}
    for d, day in enumerate(req.days):
        for t in problem.templates:
            start = datetime.combine(day, t.start, tzinfo=tz)
            end = start + t.length
            p0 = req.period_of(start)
            p1 = p0 + int(t.length / PERIOD)
            lo, hi = max(p0, 0), min(p1, req.n_periods)
            if lo >= hi or not needed[lo:hi].any():
                continue
            breaks = tuple(
                BreakSlots(b.length_min // PERIOD_MIN,
                           tuple(range(b.earliest_start_min // PERIOD_MIN, b.latest_start_min // PERIOD_MIN + 1)),
                           b.paid)
                for b in t.breaks
            )
            unpaid = sum(b.length for b in breaks if not b.paid)
            local_end = end.astimezone(tz)
            late = local_end.date() > day or local_end.time() > LATE_END
            out.append(Candidate(len(out), d, day, t, start, end, p0, p1, (p1 - p0) - unpaid, breaks,
                                 day.weekday() >= 5, late, week_of[day]))
    return out


def _fits(problem: RosterProblem, agent: Agent, c: Candidate) -> bool:
    window = problem.availability_of(agent.id, c.day)
    if window is None:
        return False
    midnight = datetime.combine(c.day, time(0), tzinfo=problem.tz)
    return window[0] <= c.start - midnight and c.end - midnight <= window[1]


def rest_ok(first_end: datetime, second_start: datetime, min_rest: timedelta) -> bool:
    return second_start - first_end >= min_rest


def _clashes_with_pin(c: Candidate, pin: Shift, min_rest: timedelta) -> bool:
    if c.start < pin.end and pin.start < c.end:
        return True
    if c.start >= pin.end:
        return not rest_ok(pin.end, c.start, min_rest)
    return not rest_ok(c.end, pin.start, min_rest)


def agent_limits(problem: RosterProblem, agent: Agent, day_index: dict[date, int]) -> AgentLimits:
    """The agent's limits per planning week, less what pinned shifts already use."""
    pins = [s for s in problem.pins if s.agent_id == agent.id]
    c = agent.contract
    pinned: set[int] = set()
    weeks = []
    for week in problem.weeks:
        mine = [s for s in pins if s.start.astimezone(problem.tz).date() in week.days]
        paid = sum(_pin_paid_quarters(problem, s) for s in mine)
        days = {day_index[s.start.astimezone(problem.tz).date()] for s in mine}
        pinned |= days
        limit = week_contract(c, week)
        weeks.append(WeekLimits(tuple(day_index[d] for d in week.days), max(limit.min_quarters - paid, 0),
                                max(limit.max_quarters - paid, 0), max(limit.max_days - len(days), 0)))
    return AgentLimits(tuple(weeks), c.max_consecutive_days, timedelta(hours=c.min_rest_hours), frozenset(pinned))


def _pin_paid_quarters(problem: RosterProblem, shift: Shift) -> int:
    """Paid time of a pinned shift: its length less breaks the matching template calls unpaid."""
    quarters = int((shift.end - shift.start) / PERIOD)
    paid_flags = _break_paid_flags(problem.templates, shift)
    unpaid = sum(int((b.end - b.start) / PERIOD) for b, paid in zip(shift.breaks, paid_flags, strict=True)
                 if not paid)
    return quarters - unpaid


def _break_paid_flags(templates: Sequence[ShiftTemplate], shift: Shift) -> list[bool]:
    """Which of a shift's breaks are paid, by the template of the same start and length (else unpaid)."""
    local = shift.start.time()
    for t in templates:
        if t.start == local and t.length == shift.end - shift.start and len(t.breaks) == len(shift.breaks):
            return [b.paid for b in t.breaks]
    return [False] * len(shift.breaks)


def build_groups(problem: RosterProblem, candidates: Sequence[Candidate],
                 lowered_minimum: dict[tuple[str, int], int] | None = None) -> list[Group]:
    """Group interchangeable agents; ``lowered_minimum`` overrides (agent, planning week) minimum quarters."""
    day_index = {day: i for i, day in enumerate(problem.requirements.days)}
    keyed: dict[tuple[object, ...], list[Agent]] = {}
    limits_of: dict[tuple[object, ...], AgentLimits] = {}
    allowed_of: dict[tuple[object, ...], tuple[int, ...]] = {}
    for agent in problem.agents:
        limits = agent_limits(problem, agent, day_index)
        if lowered_minimum:
            weeks = tuple(replace(w, min_quarters=lowered_minimum[agent.id, k], min_relaxed_from=w.min_quarters)
                          if (agent.id, k) in lowered_minimum else w for k, w in enumerate(limits.weeks))
            limits = replace(limits, weeks=weeks)
        pins = [s for s in problem.pins if s.agent_id == agent.id]
        allowed = tuple(
            c.index for c in candidates
            if c.day_index not in limits.pinned_days and _fits(problem, agent, c)
            and not any(_clashes_with_pin(c, pin, limits.min_rest) for pin in pins)
            and c.paid_quarters <= limits.weeks[c.week].max_quarters
        )
        key: tuple[object, ...] = (frozenset(agent.skills), agent.primary_skills, limits, allowed)
        keyed.setdefault(key, []).append(agent)
        limits_of[key] = limits
        allowed_of[key] = allowed
    groups = []
    for i, (key, members) in enumerate(keyed.items()):
        first = members[0]
        groups.append(Group(i, tuple(members), frozenset(first.skills), first.primary_skills, limits_of[key],
                            allowed_of[key]))
    return groups
