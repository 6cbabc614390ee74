"""KPIs from an event log: service level, ASA, abandonment, occupancy, backlog, SLA by quadrant, fairness."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dispatcher.domain import Quadrant, SlaPolicy
from dispatcher.simulation.engine import SimulatedDay
from dispatcher.simulation.model import BoolArray

if TYPE_CHECKING:  # pandas loads lazily: replication workers only need summarize()
    import pandas as pd

QUADRANTS = tuple(Quadrant)


def _safe_ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def _queue_metrics(log: SimulatedDay, keep: BoolArray, answer_within_s: float) -> dict[str, float]:
    served = ~np.isnan(log.start_s) & keep
    offered = int(keep.sum())
    waits = log.wait_s[served]
    return {
        "offered": float(offered),
        "service_level": _safe_ratio(float(np.count_nonzero(waits <= answer_within_s)), offered),
        "asa_s": float(waits.mean()) if waits.size else float("nan"),
        "abandon_rate": _safe_ratio(float(np.count_nonzero(log.abandoned & keep)), offered),
    }


def summarize(log: SimulatedDay, *, answer_within_s: float, sla: SlaPolicy) -> dict[str, float]:
    """One number per KPI for one replication; per-queue KPIs are named ``kpi[queue]``."""
    everyone = np.ones(len(log.arrival_s), dtype=np.bool_)
    out = _queue_metrics(log, everyone, answer_within_s)
    out["occupancy"] = _safe_ratio(float(log.agent_busy_s.sum()), float(log.agent_duty_s.sum()))
    at_end = (log.arrival_s <= log.horizon_s) & (log.arrival_s + log.wait_s > log.horizon_s)
    out["backlog_end"] = float(np.count_nonzero(at_end))
    out["stranded"] = float(np.count_nonzero(np.isnan(log.start_s) & ~log.abandoned))
    for rank, quadrant in enumerate(QUADRANTS):
        in_q = log.quadrant_rank == rank
        breached = in_q & (log.wait_s > sla.target(quadrant).response_s)
        out[f"sla_{quadrant.value}"] = _safe_ratio(float(np.count_nonzero(in_q & ~breached)), float(in_q.sum()))
        out[f"breaches_{quadrant.value}"] = float(np.count_nonzero(breached))
    on_duty = log.agent_duty_s > 0
    occupancy = log.agent_busy_s[on_duty] / log.agent_duty_s[on_duty]
    out["occupancy_cv"] = float(occupancy.std() / occupancy.mean()) if occupancy.size and occupancy.mean() > 0 else 0.0
    for q, name in enumerate(log.queues):
        for key, value in _queue_metrics(log, log.queue == q, answer_within_s).items():
            out[f"{key}[{name}]"] = value
    return out


def per_period(log: SimulatedDay, *, period_s: float, answer_within_s: float) -> pd.DataFrame:
    """Offered, answered, abandoned, service level and ASA per queue and period of arrival."""
    import pandas as pd

    period = np.floor(log.arrival_s / period_s).astype(np.int64)
    served = ~np.isnan(log.start_s)
    frame = pd.DataFrame(
        {
            "queue": np.asarray(log.queues, dtype=object)[log.queue] if log.queues else log.queue,
            "period": period,
            "offered": 1,
            "answered": served.astype(np.int64),
            "abandoned": log.abandoned.astype(np.int64),
            "in_sl": (served & (log.wait_s <= answer_within_s)).astype(np.int64),
            "answer_wait_s": np.where(served, log.wait_s, 0.0),
        }
    )
    grouped = frame.groupby(["queue", "period"], sort=True).sum().reset_index()
    grouped["period_start_s"] = grouped["period"] * period_s
    grouped["service_level"] = grouped["in_sl"] / grouped["offered"]
    grouped["asa_s"] = grouped["answer_wait_s"] / grouped["answered"].where(grouped["answered"] > 0)
    return grouped[["queue", "period_start_s", "offered", "answered", "abandoned", "service_level", "asa_s"]]


def event_log_frame(log: SimulatedDay) -> pd.DataFrame:
    """The event log as one row per task, ready to export."""
    import pandas as pd

    agent_ids = np.asarray((*log.agent_ids, ""), dtype=object)
    return pd.DataFrame(
        {
            "task": np.arange(len(log.arrival_s)),
            "queue": np.asarray(log.queues, dtype=object)[log.queue] if log.queues else log.queue,
            "quadrant": np.asarray([q.value for q in QUADRANTS], dtype=object)[log.quadrant_rank],
            "arrival_s": log.arrival_s,
            "start_s": log.start_s,
            "end_s": log.end_s,
            "wait_s": log.wait_s,
            "abandoned": log.abandoned,
            "agent": agent_ids[log.agent],
        }
    )
