"""The shared vocabulary: skills, agents, tasks, SLA policy, shifts and rosters.

Frozen, slotted dataclasses validated at construction; no I/O. Times are timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatcher.errors import InvalidInput

Skill = str
"""A skill is a queue name, e.g. ``billing``; agents hold skills, tasks need one."""

MIN_PROFICIENCY = 1
MAX_PROFICIENCY = 5


def require_aware(value: datetime, field_name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=field_name)
    return value


DEFAULT_HANDLE_S = 300.0
"""Expected handle time (s) of a task whose creator gave none: the API default, the store's and the boards'."""

class Quadrant(StrEnum):
    """Urgent/important matrix. Urgency decides *when*, importance decides *who*."""

    Q1 = "Q1"  # urgent + important: do now, primary owners
    Q2 = "Q2"  # important, not urgent: schedule, primary owners
    Q3 = "Q3"  # urgent, not important: delegate, auxiliary skills allowed
    Q4 = "Q4"  # neither: defer, but ageing keeps it from starving

    @classmethod
    def from_flags(cls, urgent: bool, important: bool) -> Quadrant:
        if urgent and important:
            return cls.Q1
        if important:
            return cls.Q2
        if urgent:
            return cls.Q3
        return cls.Q4

    @property
    def urgent(self) -> bool:
        return self in (Quadrant.Q1, Quadrant.Q3)

    @property
    def important(self) -> bool:
        return self in (Quadrant.Q1, Quadrant.Q2)

    @property
    def rank(self) -> int:
        """0 for Q1 … 3 for Q4: the strict-dominance order of the default policy."""
        return ("Q1", "Q2", "Q3", "Q4").index(self.value)

    @property
    def action(self) -> str:
        return {"Q1": "do now", "Q2": "schedule", "Q3": "delegate", "Q4": "defer"}[self.value]


@dataclass(frozen=True, slots=True)
class Contract:
    """What an agent's contract allows in one week."""

    max_hours_week: float = 40.0
    min_hours_week: float = 0.0
    max_days_week: int = 5
    min_rest_hours: float = 11.0
    max_consecutive_days: int = 6

    def __post_init__(self) -> None:
        if not 0 <= self.min_hours_week <= self.max_hours_week <= 168:
            raise InvalidInput(
                f"need 0 <= min_hours_week ({self.min_hours_week}) <= max_hours_week "
                f"({self.max_hours_week}) <= 168",
                field="max_hours_week",
            )
        if not 0 <= self.max_days_week <= 7:
            raise InvalidInput(f"max_days_week must be 0..7, got {self.max_days_week}", field="max_days_week")
        if not 0 <= self.min_rest_hours < 24:
            raise InvalidInput(f"min_rest_hours must be 0..24, got {self.min_rest_hours}", field="min_rest_hours")
        if not 1 <= self.max_consecutive_days <= 7:
            raise InvalidInput(
                f"max_consecutive_days must be 1..7, got {self.max_consecutive_days}",
                field="max_consecutive_days",
            )


@dataclass(frozen=True, slots=True)
class Agent:
    """A named person. Primary skills are what the agent is responsible for (主责); the rest are
    auxiliary (辅助), used when the primary pool cannot keep the SLA."""

    id: str
    name: str
    skills: Mapping[Skill, int]
    primary_skills: frozenset[Skill] = frozenset()
    capacity: int = 1
    contract: Contract = field(default_factory=Contract)
    team: str = ""
    supervisor: str = ""

    def __post_init__(self) -> None:
        if not self.id or not str(self.id).strip():
            raise InvalidInput("agent id must not be empty", field="id")
        if not self.skills:
            raise InvalidInput(f"agent {self.id} has no skills", field="skills")
        for skill, level in self.skills.items():
            if not isinstance(skill, str) or not skill:
                raise InvalidInput(f"agent {self.id}: skill names must be non-empty text", field="skills")
            if isinstance(level, bool) or not isinstance(level, int):
                raise InvalidInput(
                    f"agent {self.id}: proficiency of {skill!r} must be an integer 1-5, got {level!r}",
                    field="skills",
                )
            if not MIN_PROFICIENCY <= level <= MAX_PROFICIENCY:
                raise InvalidInput(
                    f"agent {self.id}: proficiency of {skill!r} must be 1-5, got {level}", field="skills"
                )
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        primary = frozenset(self.primary_skills)
        unknown = primary - set(self.skills)
        if unknown:
            raise InvalidInput(
                f"agent {self.id}: primary skills {sorted(unknown)} are not among its skills",
                field="primary_skills",
            )
        object.__setattr__(self, "primary_skills", primary)
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int) or self.capacity < 1:
            raise InvalidInput(f"agent {self.id}: capacity must be an integer >= 1", field="capacity")

    def __hash__(self) -> int:
        return hash(self.id)

    def has_skill(self, skill: Skill) -> bool:
        return skill in self.skills

    def proficiency(self, skill: Skill) -> int:
        """0 when the agent lacks the skill."""
        return self.skills.get(skill, 0)

    def is_primary(self, skill: Skill) -> bool:
        return skill in self.primary_skills

    @property
    def auxiliary_skills(self) -> frozenset[Skill]:
        return frozenset(self.skills) - self.primary_skills


@dataclass(frozen=True, slots=True)
class Task:
    """One piece of work waiting for, or held by, an agent."""

    id: str
    skill: Skill
    urgent: bool
    important: bool
    created_at: datetime
    due_at: datetime | None = None
    expected_handle_s: float = DEFAULT_HANDLE_S
    source: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    customer_id: str | None = None
    previous_agent: str | None = None
    """Sticky owner: the agent who last held this ticket or customer, preferred when it returns."""

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidInput("task id must not be empty", field="id")
        if not self.skill:
            raise InvalidInput(f"task {self.id}: skill must not be empty", field="skill")
        require_aware(self.created_at, "created_at")
        if self.due_at is not None:
            require_aware(self.due_at, "due_at")
            if self.due_at < self.created_at:
                raise InvalidInput(f"task {self.id}: due_at is before created_at", field="due_at")
        if not (self.expected_handle_s > 0) or self.expected_handle_s > 7 * 86400:
            raise InvalidInput(
                f"task {self.id}: expected_handle_s must be in (0, 604800], got {self.expected_handle_s}",
                field="expected_handle_s",
            )
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def quadrant(self) -> Quadrant:  # urgency decides when, importance decides who
        return Quadrant.from_flags(self.urgent, self.important)


@dataclass(frozen=True, slots=True)
class SlaTarget:
    response_s: float
    resolution_s: float

    def __post_init__(self) -> None:
        if not self.response_s > 0 or not self.resolution_s > 0:
            raise InvalidInput("SLA targets must be positive seconds", field="response_s")
        if self.resolution_s < self.response_s:
            raise InvalidInput("resolution target must not be shorter than response target", field="resolution_s")


def _default_targets() -> Mapping[Quadrant, SlaTarget]:
    urgent = SlaTarget(response_s=600, resolution_s=4 * 3600)
    normal = SlaTarget(response_s=1800, resolution_s=24 * 3600)
    return {q: urgent if q.urgent else normal for q in Quadrant}


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """First-response and resolution targets per quadrant, and when to warn, alert and escalate.

    Defaults: urgent tasks answered within 10 min, others within 30 min; warn 5 min before the
    response target, alert the owner 15 min past it, escalate 30 min past it.
    """

    targets: Mapping[Quadrant, SlaTarget] = field(default_factory=_default_targets)
    warn_before_s: float = 300.0
    alert_after_s: float = 900.0
    escalate_after_s: float = 1800.0

    def __post_init__(self) -> None:
        targets = {Quadrant(q): t for q, t in self.targets.items()}
        missing = set(Quadrant) - set(targets)
        if missing:
            raise InvalidInput(f"SLA policy lacks targets for {sorted(missing)}", field="targets")
        object.__setattr__(self, "targets", MappingProxyType(targets))
        if self.warn_before_s < 0 or self.alert_after_s < 0:
            raise InvalidInput("warn/alert thresholds must be >= 0 seconds", field="alert_after_s")
        if self.escalate_after_s < self.alert_after_s:
            raise InvalidInput("escalation must come at or after the alert", field="escalate_after_s")

    def target(self, quadrant: Quadrant) -> SlaTarget:
        return self.targets[quadrant]

    def response_due(self, task: Task) -> datetime:
        """When the first response is due: the task's own due time if earlier than the policy's."""
        policy_due = task.created_at + timedelta(seconds=self.targets[task.quadrant].response_s)
        return min(policy_due, task.due_at) if task.due_at is not None else policy_due

    def alert_at(self, task: Task) -> datetime:
        return self.response_due(task) + timedelta(seconds=self.alert_after_s)

    def escalate_at(self, task: Task) -> datetime:
        return self.response_due(task) + timedelta(seconds=self.escalate_after_s)


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A break of ``length_min`` minutes that must start between the given offsets into the shift."""

    length_min: int
    earliest_start_min: int
    latest_start_min: int
    paid: bool = False

    def __post_init__(self) -> None:
        if self.length_min <= 0:
            raise InvalidInput("break length must be > 0 minutes", field="breaks")
        if not 0 <= self.earliest_start_min <= self.latest_start_min:
            raise InvalidInput("break window must satisfy 0 <= earliest <= latest", field="breaks")


@dataclass(frozen=True, slots=True)
class ShiftTemplate:
    """An allowed shift: start time of day, length, and break rules."""

    name: str
    start: time
    length: timedelta
    breaks: tuple[BreakRule, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInput("shift template name must not be empty", field="name")
        if not timedelta(0) < self.length <= timedelta(hours=24):
            raise InvalidInput(
                f"shift template {self.name}: length must be in (0, 24 h], got {self.length}", field="length"
            )
        length_min = self.length.total_seconds() / 60
        for rule in self.breaks:
            if rule.latest_start_min + rule.length_min > length_min:
                raise InvalidInput(f"shift template {self.name}: a break ends after the shift", field="breaks")
        object.__setattr__(self, "breaks", tuple(self.breaks))

    @property
    def length_hours(self) -> float:
        return self.length.total_seconds() / 3600

    @property
    def paid_hours(self) -> float:
        unpaid = sum(b.length_min for b in self.breaks if not b.paid) / 60
        return self.length_hours - unpaid


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end <= self.start:
            raise InvalidInput(f"interval end {self.end} is not after start {self.start}", field="end")

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class SkillBlock:
    """Part of a shift in which the agent works one skill (multi-skill agents get one per period)."""

    start: datetime
    end: datetime
    skill: Skill


@dataclass(frozen=True, slots=True)
class Shift:
    """One named agent's working time on one day, with its breaks and skill plan."""

    agent_id: str
    start: datetime
    end: datetime
    breaks: tuple[Interval, ...] = ()
    skill_plan: tuple[SkillBlock, ...] = ()
    template: str = ""

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end <= self.start:
            raise InvalidInput(f"shift of {self.agent_id}: end is not after start", field="end")
        if self.end - self.start > timedelta(hours=24):
            raise InvalidInput(f"shift of {self.agent_id}: longer than 24 h", field="end")
        for brk in self.breaks:
            if brk.start < self.start or brk.end > self.end:
                raise InvalidInput(f"shift of {self.agent_id}: break {brk.start} outside the shift", field="breaks")
        object.__setattr__(self, "breaks", tuple(sorted(self.breaks, key=lambda b: b.start)))
        object.__setattr__(self, "skill_plan", tuple(self.skill_plan))

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def working_hours(self) -> float:
        return self.hours - sum(b.seconds for b in self.breaks) / 3600

    def on_duty(self, moment: datetime) -> bool:
        """On shift and not on a break."""
        return self.start <= moment < self.end and not any(b.contains(moment) for b in self.breaks)

    def next_interruption(self, moment: datetime) -> datetime | None:
        """When the agent next stops working (break start or shift end), if on duty now."""
        if not self.on_duty(moment):
            return None
        upcoming = [b.start for b in self.breaks if b.start > moment]
        return min([*upcoming, self.end])

    def skill_at(self, moment: datetime) -> Skill | None:
        for block in self.skill_plan:
            if block.start <= moment < block.end:
                return block.skill
        return None


@dataclass(frozen=True, slots=True)
class Roster:
    """The shifts of one planning horizon (usually a week)."""

    week_start: date
    shifts: tuple[Shift, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "shifts", tuple(sorted(self.shifts, key=lambda s: (s.start, s.agent_id))))

    def __iter__(self) -> Iterator[Shift]:
        return iter(self.shifts)

    def __len__(self) -> int:
        return len(self.shifts)

    def by_agent(self) -> dict[str, list[Shift]]:
        out: dict[str, list[Shift]] = {}
        for shift in self.shifts:
            out.setdefault(shift.agent_id, []).append(shift)
        return out

    def on_duty(self, moment: datetime) -> list[Shift]:
        return [s for s in self.shifts if s.on_duty(moment)]


@dataclass(frozen=True, slots=True)
class Site:
    """Where the work happens: a timezone, opening hours per weekday (Mon=0) and a holiday country."""

    name: str = "site"
    timezone: str = "UTC"
    opening_hours: Mapping[int, tuple[time, time]] = field(default_factory=dict)
    country: str | None = None
    subdivision: str | None = None

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"unknown timezone {self.timezone!r}", field="timezone") from exc
        for weekday in self.opening_hours:
            if not 0 <= weekday <= 6:
                raise InvalidInput(f"weekday must be 0 (Mon) .. 6 (Sun), got {weekday}", field="opening_hours")
        object.__setattr__(self, "opening_hours", MappingProxyType(dict(self.opening_hours)))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def localize(self, value: datetime) -> datetime:
        """Naive timestamps are read in the site's timezone; aware ones are converted to it."""
        return value.replace(tzinfo=self.tz) if value.tzinfo is None else value.astimezone(self.tz)


def skills_of(agents: Iterable[Agent]) -> frozenset[Skill]:
    return frozenset(s for agent in agents for s in agent.skills)
