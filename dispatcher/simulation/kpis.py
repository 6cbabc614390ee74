"""KPIs of a simulated day: service level, ASA, abandonment, occupancy, backlog, SLA by quadrant, fairness.

Service level, ASA, abandonment and occupancy are the definitions of :mod:`dispatcher.kpis`: the
threshold is the fixed ``answer_within_s`` for ``service_level`` and the quadrant's response target
for ``sla_Q*``; a task still waiting at the end of the run counts as waiting ``wait_s`` seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dispatcher import kpis
from dispatcher.domain import Quadrant, SlaPolicy
from dispatcher.simulation.engine import SimulatedDay
from dispatcher.simulation.model import BoolArray

if TYPE_CHECKING:  # pandas loads lazily: replication workers only need summarize()
    import pandas as pd

QUADRANTS = tuple(Quadrant)


def _queue_metrics(log: SimulatedDay, keep: BoolArray, answer_within_s: float) -> dict[str, float]:
    wait, answered, abandoned = log.wait_s[keep], ~np.isnan(log.start_s[keep]), log.abandoned[keep]
    return {
        "offered": float(np.count_nonzero(keep)),
        "service_level": kpis.service_level(wait, answered, answer_within_s),
        "asa_s": kpis.asa(wait, answered),
        "abandon_rate": kpis.abandonment_rate(answered, abandoned),
    }


def summarize(log: SimulatedDay, *, answer_within_s: float, sla: SlaPolicy) -> dict[str, float]:
    """One number per KPI for one replication; per-queue KPIs are named ``kpi[queue]``."""
    everyone = np.ones(len(log.arrival_s), dtype=np.bool_)
    out = _queue_metrics(log, everyone, answer_within_s)
    out["occupancy"] = kpis.occupancy(log.agent_busy_s, log.agent_duty_s)
    at_end = (log.arrival_s <= log.horizon_s) & (log.arrival_s + log.wait_s > log.horizon_s)
    out["backlog_end"] = float(np.count_nonzero(at_end))
    out["stranded"] = float(np.count_nonzero(np.isnan(log.start_s) & ~log.abandoned))
    answered = ~np.isnan(log.start_s)
    for rank, quadrant in enumerate(QUADRANTS):
        in_q = log.quadrant_rank == rank
        counted, met = kpis.service_level_flags(log.wait_s[in_q], answered[in_q], sla.target(quadrant).response_s)
        out[f"sla_{quadrant.value}"] = kpis.ratio(float(np.count_nonzero(met)), float(np.count_nonzero(counted)))
        out[f"breaches_{quadrant.value}"] = float(np.count_nonzero(counted & ~met))
    on_duty = log.agent_duty_s > 0
    occupancy = log.agent_busy_s[on_duty] / log.agent_duty_s[on_duty]
    out["occupancy_cv"] = float(occupancy.std() / occupancy.mean()) if occupancy.size and occupancy.mean() > 0 else 0.0
    for q, name in enumerate(log.queues):
        for key, value in _queue_metrics(log, log.queue == q, answer_within_s).items():
            out[f"{key}[{name}]"] = value
    return out


def per_period(log: SimulatedDay, *, period_s: float, answer_within_s: float) -> pd.DataFrame:
    """Offered, answered, abandoned, service level and ASA per queue and period of arrival.

    ``in_sl`` / ``sl_counted`` are the service level's numerator and denominator, so periods add up.
    """
    import pandas as pd

    period = np.floor(log.arrival_s / period_s).astype(np.int64)
    served = ~np.isnan(log.start_s)
    counted, met = kpis.service_level_flags(log.wait_s, served, answer_within_s)
    frame = pd.DataFrame(
        {
            "queue": np.asarray(log.queues, dtype=object)[log.queue] if log.queues else log.queue,
            "period": period,
            "offered": 1,
            "answered": served.astype(np.int64),
            "abandoned": kpis.abandonment_flags(served, log.abandoned).astype(np.int64),
            "in_sl": met.astype(np.int64),
            "sl_counted": counted.astype(np.int64),
            "answer_wait_s": np.where(served, log.wait_s, 0.0),
        }
    )
    grouped = frame.groupby(["queue", "period"], sort=True).sum().reset_index()
    grouped["period_start_s"] = grouped["period"] * period_s
    grouped["service_level"] = kpis.ratio(grouped["in_sl"].to_numpy(), grouped["sl_counted"].to_numpy())
    grouped["asa_s"] = kpis.ratio(grouped["answer_wait_s"].to_numpy(), grouped["answered"].to_numpy())
    return grouped[["queue", "period_start_s", "offered", "answered", "abandoned", "service_level", "asa_s",
                    "in_sl", "sl_counted"]]


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
