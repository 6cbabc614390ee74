"""Service targets with owners and deadlines, improvement plans, achievement rate, trend, overdue alerts.

A target is a KPI of the scorecard (``sla``, ``fcr``, ``satisfaction``, ``asa_s`` ...), a scope (one
queue, team or agent), a value, an owner and a deadline, e.g. ``Target("t1", "sla", "queue", "billing",
0.80, "team lead B", deadline)``. Achievement rate is actual/target (target/actual when lower is better),
capped at ``MAX_ACHIEVEMENT``; the trend is a least-squares slope over per-period measurements,
projected to the deadline. Pure: measurements come from :mod:`dispatcher.scorecard`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from dispatcher.errors import InvalidInput
from dispatcher.scorecard import (
    DEFAULT_DIMENSIONS,
    LEVELS,
    METRIC_COLUMNS,
    SAMPLE_OF,
    EventLog,
    Level,
    scorecard_metrics,
    task_outcomes,
)

MAX_ACHIEVEMENT = 2.0
"""Achievement rates are capped at 200% so a zero (lower-is-better) actual stays a finite number."""

LOWER_IS_BETTER: frozenset[str] = frozenset(
    {d.metric for d in DEFAULT_DIMENSIONS if not d.higher_is_better} | {"aht_s", "abandoned"}
)
Trend = Literal["improving", "worsening", "flat", "unknown"]


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=name)


def _text(value: str, name: str, owner_of: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{owner_of}: {name} must not be empty", field=name)


@dataclass(frozen=True, slots=True)
class Target:
    """``kpi`` of ``scope`` (a queue, team or agent of ``level``) reaches ``value`` by ``deadline``.

    ``owner`` answers for it."""

    id: str
    kpi: str
    level: Level
    scope: str
    value: float
    owner: str
    deadline: datetime
    start: datetime | None = None
    """When tracking starts (the first measured period); defaults to 8 weeks before the deadline."""
    baseline: float | None = None
    """The KPI when the target was set; gives ``progress`` (share of the gap closed)."""
    description: str = ""

    def __post_init__(self) -> None:
        _text(self.id, "id", "target")
        _text(self.owner, "owner", f"target {self.id}")
        _text(self.scope, "scope", f"target {self.id}")
        if self.kpi not in METRIC_COLUMNS:
            raise InvalidInput(f"target {self.id}: unknown kpi {self.kpi!r}; known: {list(METRIC_COLUMNS)}",
                               field="kpi")
        if self.level not in LEVELS:
            raise InvalidInput(f"target {self.id}: level must be one of {list(LEVELS)}, got {self.level!r}",
                               field="level")
        if isinstance(self.value, bool) or not isinstance(self.value, int | float) or not math.isfinite(self.value) \
                or self.value <= 0:
            raise InvalidInput(f"target {self.id}: value must be a positive number, got {self.value!r}",
                               field="value")
        _aware(self.deadline, "deadline")
        if self.start is not None:
            _aware(self.start, "start")
            if self.start >= self.deadline:
                raise InvalidInput(f"target {self.id}: start must be before the deadline", field="start")
        if self.baseline is not None and not math.isfinite(self.baseline):
            raise InvalidInput(f"target {self.id}: baseline must be a finite number", field="baseline")

    @property
    def higher_is_better(self) -> bool:
        return self.kpi not in LOWER_IS_BETTER

    @property
    def tracking_start(self) -> datetime:
        return self.start if self.start is not None else self.deadline - timedelta(weeks=8)

    def met_by(self, actual: float) -> bool:
        return actual >= self.value if self.higher_is_better else actual <= self.value

    def achievement(self, actual: float) -> float:
        """actual/target (target/actual when lower is better), capped at MAX_ACHIEVEMENT; NaN if unknown."""
        if math.isnan(actual):
            return math.nan
        if self.higher_is_better:
            return min(actual / self.value, MAX_ACHIEVEMENT)
        return MAX_ACHIEVEMENT if actual <= 0 else min(self.value / actual, MAX_ACHIEVEMENT)


@dataclass(frozen=True, slots=True)
class Measurement:
    """The KPI over one period [start, end) and how many observations it rests on."""

    start: datetime
    end: datetime
    value: float
    sample: int


@dataclass(frozen=True, slots=True)
class TargetStatus:
    target: Target
    actual: float
    """The latest measured value (NaN when nothing was measured)."""
    achievement_rate: float
    met: bool
    progress: float
    """Share of the baseline-to-target gap closed, 0..1 (NaN without a baseline)."""
    slope_per_day: float
    trend: Trend
    projected_at_deadline: float
    on_track: bool
    days_left: float
    overdue: bool
    """Deadline passed and the target is not met."""
    history: tuple[Measurement, ...]


def measure(
    log: EventLog, target: Target, *, until: datetime, period: timedelta = timedelta(weeks=1), **metric_options: Any
) -> tuple[Measurement, ...]:
    """The target's KPI for its scope over consecutive periods from its tracking start up to ``until``."""
    _aware(until, "until")
    if period <= timedelta(0):
        raise InvalidInput("period must be positive", field="period")
    out = []
    start = target.tracking_start
    stop = min(until, target.deadline)
    if "outcomes" not in metric_options:
        metric_options["outcomes"] = task_outcomes(log, config=metric_options.get("outcome"),
                                                   agent_teams=metric_options.get("agent_teams"))
    while start < stop:
        end = min(start + period, stop)
        table = scorecard_metrics(log, level=target.level, start=start, end=end, **metric_options)
        if target.scope in table.index:
            columns = [target.kpi, SAMPLE_OF.get(target.kpi, "handled")]
            cells = table.loc[[target.scope], columns].to_numpy(dtype=float)[0]
            value = float(cells[0])
            if not math.isnan(value):
                sample = int(cells[1])
                out.append(Measurement(start, end, value, sample))
        start = end
    return tuple(out)


def trend_of(history: Sequence[Measurement], target: Target, *, flat_share: float = 0.01) -> tuple[float, Trend]:
    """Least-squares slope of the KPI per day and whether it moves toward the target.

    'flat' when the fitted change over the measured span is under ``flat_share`` of the target value.
    """
    if len(history) < 2:
        return math.nan, "unknown"
    origin = history[0].start
    days = np.array([((m.start - origin) + (m.end - m.start) / 2).total_seconds() / 86400 for m in history])
    values = np.array([m.value for m in history])
    if np.ptp(days) == 0:
        return math.nan, "unknown"
    slope = float(np.polyfit(days, values, 1)[0])
    if abs(slope) * float(np.ptp(days)) < flat_share * target.value:
        return slope, "flat"
    better = slope > 0 if target.higher_is_better else slope < 0
    return slope, "improving" if better else "worsening"


def target_status(target: Target, history: Sequence[Measurement], *, now: datetime) -> TargetStatus:
    """Achievement rate, progress, trend and projection of one target from its measurements."""
    _aware(now, "now")
    ordered = tuple(sorted(history, key=lambda m: m.start))
    actual = ordered[-1].value if ordered else math.nan
    met = bool(ordered) and target.met_by(actual)
    if target.baseline is not None and target.baseline != target.value and ordered:
        progress = min(max((actual - target.baseline) / (target.value - target.baseline), 0.0), 1.0)
    else:
        progress = math.nan
    slope, trend = trend_of(ordered, target)
    days_left = (target.deadline - now).total_seconds() / 86400
    if ordered and not math.isnan(slope):
        last_mid = ordered[-1].start + (ordered[-1].end - ordered[-1].start) / 2
        projected = actual + slope * max((target.deadline - last_mid).total_seconds() / 86400, 0.0)
    else:
        projected = actual
    on_track = met or (not math.isnan(projected) and target.met_by(projected) and days_left > 0)
    return TargetStatus(
        target=target, actual=actual, achievement_rate=target.achievement(actual), met=met, progress=progress,
        slope_per_day=slope, trend=trend, projected_at_deadline=projected, on_track=on_track,
        days_left=days_left, overdue=days_left < 0 and not met, history=ordered,
    )


# ---------------------------------------------------------------------------------------------------
# Improvement plans


@dataclass(frozen=True, slots=True)
class Action:
    """One step of an improvement plan, owned by one person, due at a time."""

    id: str
    description: str
    owner: str
    due: datetime
    done_at: datetime | None = None

    def __post_init__(self) -> None:
        _text(self.id, "id", "action")
        _text(self.description, "description", f"action {self.id}")
        _text(self.owner, "owner", f"action {self.id}")
        _aware(self.due, "due")
        if self.done_at is not None:
            _aware(self.done_at, "done_at")

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True, slots=True)
class ImprovementPlan:
    """How a target will be reached: actions with owners and due dates."""

    id: str
    target_id: str
    title: str
    owner: str
    actions: tuple[Action, ...] = ()

    def __post_init__(self) -> None:
        _text(self.id, "id", "plan")
        _text(self.target_id, "target_id", f"plan {self.id}")
        _text(self.title, "title", f"plan {self.id}")
        _text(self.owner, "owner", f"plan {self.id}")
        actions = tuple(self.actions)
        ids = [a.id for a in actions]
        if len(set(ids)) != len(ids):
            raise InvalidInput(f"plan {self.id}: action ids must be unique, got {ids}", field="actions")
        object.__setattr__(self, "actions", actions)

    @property
    def completion(self) -> float:
        """Share of actions done (NaN for a plan without actions)."""
        return sum(a.done for a in self.actions) / len(self.actions) if self.actions else math.nan

    def mark_done(self, action_id: str, at: datetime) -> ImprovementPlan:
        if action_id not in {a.id for a in self.actions}:
            raise InvalidInput(f"plan {self.id} has no action {action_id!r}", field="action_id")
        return replace(self, actions=tuple(replace(a, done_at=at) if a.id == action_id else a for a in self.actions))


@dataclass(frozen=True, slots=True)
class OverdueAlert:
    """An open action past its due time: raised to the action's owner (and the plan owner to escalate)."""

    plan_id: str
    target_id: str
    action_id: str
    owner: str
    plan_owner: str
    description: str
    due: datetime
    overdue_s: float


def overdue_actions(plans: Iterable[ImprovementPlan], *, now: datetime) -> list[OverdueAlert]:
    """Every open action past due at ``now``, most overdue first."""
    _aware(now, "now")
    alerts = [
        OverdueAlert(plan_id=p.id, target_id=p.target_id, action_id=a.id, owner=a.owner, plan_owner=p.owner,
                     description=a.description, due=a.due, overdue_s=(now - a.due).total_seconds())
        for p in plans for a in p.actions if not a.done and a.due < now
    ]
    return sorted(alerts, key=lambda al: (-al.overdue_s, al.plan_id, al.action_id))


def status_frame(statuses: Iterable[TargetStatus]) -> pd.DataFrame:
    """One row per target: the columns a supervisor scans (owner, deadline, actual, achievement, trend)."""
    rows = [{
        "target": s.target.id, "kpi": s.target.kpi, "level": s.target.level, "scope": s.target.scope,
        "value": s.target.value, "owner": s.target.owner, "deadline": s.target.deadline, "actual": s.actual,
        "achievement_rate": s.achievement_rate, "met": s.met, "trend": s.trend, "on_track": s.on_track,
        "overdue": s.overdue,
    } for s in statuses]
    return pd.DataFrame(rows)
