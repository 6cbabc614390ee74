"""What a rostering problem is: requirement curve, agents, templates, availability, pins, weights."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from dispatcher.domain import Agent, Roster, Shift, ShiftTemplate
from dispatcher.errors import InvalidInput
from dispatcher.roster.weeks import PlanningWeek, planning_weeks

PERIOD_MIN = 15
PERIOD = timedelta(minutes=PERIOD_MIN)

Availability = tuple[timedelta, timedelta] | None
"""A day's window (from, to) as offsets from local midnight a shift must fit in; ``None`` = off."""


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class Weights:
    """Objective weights, in penalty points. Coverage terms are per agent and 15-minute period."""

    under: float = 1.0
    """First missing agent in a period."""
    under_steep: float = 1.5
    """Multiplier for every further missing agent in the same period (service level falls convexly)."""
    over: float = 0.25
    labour_per_hour: float = 0.1
    """Per paid agent-hour: shorter rosters win ties."""
    auxiliary: float = 0.01
    """Per period an agent works an auxiliary rather than a primary skill."""
    fairness: float = 2.0
    """Per unit of spread (weekend shifts, late shifts, hours) within a group of like agents."""
    days_off_pair: float = 3.0
    """When an agent gets no two consecutive days off."""
    preference: float = 1.0
    """Per unmet preference."""
    change: float = 4.0
    """Per published shift changed or dropped when re-rostering."""

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise InvalidInput(f"weight {name} must be a finite number >= 0, got {value}", field=name)


@dataclass(frozen=True, slots=True)
class Preference:
    """``off``: rather not work that day; ``shift``: rather work ``template`` that day."""

    agent_id: str
    kind: str
    template: str = ""
    on: date | None = None
    weekday: int | None = None

    def applies(self, day: date) -> bool:
        if self.on is not None:
            return self.on == day
        if self.weekday is not None:
            return self.weekday == day.weekday()
        return True


@dataclass(frozen=True, slots=True)
class Requirements:
    """Agents required per skill (rows) and 15-minute period (columns) from ``origin`` (local midnight)."""

    origin: datetime
    skills: tuple[str, ...]
    required: npt.NDArray[np.int64]
    source_row: npt.NDArray[np.int64]
    """File row each cell came from (0: not given), so messages can name it."""

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, datetime, int, int]]) -> Requirements:
        """(skill, period_start, required, row) → grid; rejects unaligned or duplicate periods."""
        items = list(entries)
        if not items:
            raise InvalidInput("no requirement rows")
        tz = items[0][1].tzinfo
        if tz is None:
            raise InvalidInput("period_start must be timezone-aware", row=items[0][3], field="period_start")
        local = [(s, t.astimezone(tz), r, row) for s, t, r, row in items]
        first = min(t.date() for _, t, _, _ in local)
        last = max(t.date() for _, t, _, _ in local)
        origin = datetime.combine(first, time(0), tzinfo=tz)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
        n_periods = int((end - origin) / PERIOD)
        skills = tuple(sorted({s for s, _, _, _ in local}))
        index = {s: i for i, s in enumerate(skills)}
        required = np.zeros((len(skills), n_periods), dtype=np.int64)
        source = np.zeros_like(required)
        for skill, start, value, row in local:
            offset = start - origin
            if offset % PERIOD:
                raise InvalidInput(f"period_start {start.isoformat()} is not on a 15-minute boundary", row=row,
                                   field="period_start")
            p = int(offset / PERIOD)
            si = index[skill]
            if source[si, p]:
                raise InvalidInput(f"duplicate period {start.isoformat()} for {skill!r} (first in row "
                                   f"{source[si, p]})", row=row, field="period_start")
            required[si, p] = value
            source[si, p] = row
        return cls(origin, skills, required, source)

    @property
    def tz(self) -> tzinfo:
        assert self.origin.tzinfo is not None
        return self.origin.tzinfo

    @property
    def n_periods(self) -> int:
        return int(self.required.shape[1])

    @property
    def days(self) -> list[date]:
        first = self.origin.date()
        last = (self.origin + self.n_periods * PERIOD - timedelta(minutes=1)).astimezone(self.tz).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def period_of(self, moment: datetime) -> int:
        """Index of the period containing ``moment`` (may be outside 0..n_periods-1)."""
        return int((moment - self.origin) // PERIOD)

    def period_start(self, p: int) -> datetime:
        return (self.origin + p * PERIOD).astimezone(self.tz)


@dataclass(frozen=True, slots=True)
class RosterProblem:
    """Everything the roster model needs; built by the CLI from files or by tests by hand."""

    requirements: Requirements
    agents: tuple[Agent, ...]
    templates: tuple[ShiftTemplate, ...]
    timezone: tzinfo | None = None
    """Where template start times are read; defaults to the requirements' timezone."""
    availability: Mapping[str, Mapping[date, Availability]] = field(default_factory=dict)
    preferences: tuple[Preference, ...] = ()
    pins: tuple[Shift, ...] = ()
    """Shifts already worked or agreed: kept as they are."""
    published: Roster | None = None
    """The roster agents already have; re-rostering changes as little of it as it can."""
    weights: Weights = field(default_factory=Weights)
    week_start: int | None = None
    """Weekday planning weeks start on (0 = Monday .. 6 = Sunday); None: the horizon's first day."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "agents", tuple(self.agents))
        object.__setattr__(self, "templates", tuple(self.templates))
        object.__setattr__(self, "preferences", tuple(self.preferences))
        object.__setattr__(self, "pins", tuple(self.pins))
        object.__setattr__(self, "availability", MappingProxyType({k: MappingProxyType(dict(v))
                                                                   for k, v in self.availability.items()}))
        if not self.agents:
            raise InvalidInput("no agents to roster", field="agents")
        if not self.templates:
            raise InvalidInput("no shift templates", field="templates")
        ids = [a.id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise InvalidInput("duplicate agent ids", field="agents")
        known = set(ids)
        for i, pin in enumerate(self.pins, start=1):
            if pin.agent_id not in known:
                raise InvalidInput(f"pinned shift {i} names unknown agent {pin.agent_id!r}", row=i, field="agent_id")
        for agent_id in self.availability:
            if agent_id not in known:
                raise InvalidInput(f"availability for unknown agent {agent_id!r}", field="agent_id")
        for pref in self.preferences:
            if pref.agent_id not in known:
                raise InvalidInput(f"preference for unknown agent {pref.agent_id!r}", field="agent_id")
        names = [t.name for t in self.templates]
        if len(set(names)) != len(names):
            raise InvalidInput("duplicate shift template names", field="templates")
        if self.week_start is not None and self.week_start not in range(7):
            raise InvalidInput(f"week_start must be 0 (Monday) .. 6 (Sunday), got {self.week_start}",
                               field="week_start")
        self._check_in_horizon(self.pins, "pinned shift", "pin")
        if self.published is not None:
            self._check_in_horizon(self.published.shifts, "published shift", "published")

    def _check_in_horizon(self, shifts: Sequence[Shift], what: str, field_name: str) -> None:
        days = self.requirements.days
        outside = sorted({s.start.astimezone(self.tz).date() for s in shifts} - set(days))
        if outside:
            shown = ", ".join(d.isoformat() for d in outside[:3]) + ("…" if len(outside) > 3 else "")
            raise InvalidInput(f"{what}(s) on {shown} lie outside the planning horizon {days[0].isoformat()}.."
                               f"{days[-1].isoformat()}: a roster from another week? Plan that week, or drop "
                               f"those rows", field=field_name)

    @property
    def tz(self) -> tzinfo:
        return self.timezone or self.requirements.tz

    @property
    def weeks(self) -> tuple[PlanningWeek, ...]:
        """The planning weeks contract limits apply to (see ``weeks.py``)."""
        return planning_weeks(self.requirements.days, self.week_start)

    def agent(self, agent_id: str) -> Agent:
        for a in self.agents:
            if a.id == agent_id:
                return a
        raise InvalidInput(f"unknown agent id {agent_id!r}", field="agent_id")

    def availability_of(self, agent_id: str, day: date) -> Availability:
        return self.availability.get(agent_id, {}).get(day, (timedelta(0), timedelta(hours=24)))


def template_by_name(templates: Sequence[ShiftTemplate]) -> dict[str, ShiftTemplate]:
    return {t.name: t for t in templates}
