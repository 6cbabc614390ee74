"""Requirements: a forecast table and a per-queue staffing policy -> agents needed per queue and period.

The forecast table has ``queue, period_start (str), start (UTC Timestamp), volume, aht_s`` (as read by
api.formats); period length = the most common spacing of ``start`` within a queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dispatcher.errors import DispatchwiseError, InvalidInput
from dispatcher.staffing import StaffingTargets, staff_periods

REQUIREMENT_COLUMNS = ["queue", "period_start", "volume", "aht_s", "agents", "agents_scheduled",
                       "service_level", "asa_s", "occupancy", "abandon_rate"]


@dataclass(frozen=True, slots=True)
class StaffingPolicy:
    """Targets for every queue, with per-queue overrides."""

    default: StaffingTargets = field(default_factory=StaffingTargets)
    queues: Mapping[str, StaffingTargets] = field(default_factory=dict)

    def for_queue(self, queue: str) -> StaffingTargets:
        return self.queues.get(queue, self.default)


def period_seconds(starts: pd.Series, queue: str, default_s: float | None = None) -> float:
    """Period length of one queue: the most common spacing of its period starts."""
    values = np.sort(starts.to_numpy(dtype="datetime64[ns]").astype(np.int64))
    gaps = np.diff(values) / 1e9
    gaps = gaps[gaps > 0]
    if not gaps.size:
        if default_s is None:
            raise InvalidInput(f"queue {queue!r} has one period; cannot tell the period length "
                               "(give the period length in minutes)", field="period_start")
        return default_s
    uniq, counts = np.unique(gaps, return_counts=True)
    return float(uniq[np.argmax(counts)])


@dataclass(frozen=True, slots=True)
class QueueSummary:
    queue: str
    periods: int
    period_s: float
    peak_agents: int
    scheduled_hours: float
    erlang_c_hours: float
    agent_hours: float
    rounding_hours: float
    over_max: list[str]
    model: str


def requirements_table(forecast: pd.DataFrame, policy: StaffingPolicy, *, period_s: float | None = None
                       ) -> tuple[pd.DataFrame, list[QueueSummary]]:
    """One row per queue and period (REQUIREMENT_COLUMNS) and a summary per queue."""
    parts = []
    summaries = []
    for queue, part in forecast.groupby("queue", sort=False):
        name = str(queue)
        part = part.sort_values("start")
        length = period_s or period_seconds(part["start"], name)
        targets = policy.for_queue(name)
        try:
            plan = staff_periods(part["volume"].to_numpy(), part["aht_s"].to_numpy(), length, targets)
        except DispatchwiseError as exc:
            raise InvalidInput(f"queue {name!r}: {exc.message}", field=exc.field) from exc
        table = pd.DataFrame({
            "queue": name,
            "period_start": part["period_start"].to_numpy(),
            "volume": part["volume"].to_numpy(),
            "aht_s": part["aht_s"].to_numpy(),
            "agents": plan.agents,
            "agents_scheduled": plan.agents_scheduled,
            "service_level": plan.service_level,
            "asa_s": plan.asa_s,
            "occupancy": plan.occupancy,
            "abandon_rate": plan.abandon_rate if targets.patience_s is not None else np.nan,
        })
        parts.append(table)
        hours = length / 3600.0
        model = ("deferred" if targets.resolution_deadline_s is not None
                 else "erlang_a" if targets.patience_s is not None else "erlang_c")
        summaries.append(QueueSummary(
            queue=name, periods=len(part), period_s=length, peak_agents=int(plan.agents_scheduled.max()),
            scheduled_hours=float(plan.agents_scheduled.sum() * hours),
            erlang_c_hours=float(plan.agents_erlang_c.sum() * hours), agent_hours=float(plan.agents.sum() * hours),
            rounding_hours=float(plan.rounding_overstaff.sum() * hours),
            over_max=[str(s) for s in part["period_start"].to_numpy()[plan.over_max]], model=model))
    return pd.concat(parts, ignore_index=True), summaries
