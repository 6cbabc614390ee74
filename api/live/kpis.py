"""KPIs from the audit trail: service level, ASA, abandonment, FCR, handle time, occupancy.

The definitions are :mod:`dispatcher.kpis`; this module only reads the events into per-task arrays.
A task's SLA threshold is its ``due_ms`` minus its creation (no due time: no target); a task
cancelled before anyone accepted it is abandoned; one neither accepted nor cancelled is waiting until
``min(to, now)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dispatcher import kpis


@dataclass(slots=True)
class _TaskFacts:
    skill: str
    created_ms: int
    due_ms: int | None = None
    accepted_ms: int | None = None
    completed_ms: int | None = None
    cancelled_ms: int | None = None
    handle_ms: list[int] = field(default_factory=list)
    fcr: bool | None = None
    complaint: bool | None = None
    satisfaction: int | None = None
    offers: int = 0
    rejections: int = 0
    expiries: int = 0
    alerts: int = 0
    escalations: int = 0
    last_accept_ms: int | None = None


def _rounded(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def compute_kpis(
    events: Iterable[Mapping[str, Any]], *, from_ms: int, to_ms: int, now_ms: int, skill: str | None = None
) -> dict[str, Any]:
    """KPIs of the tasks created in [from_ms, to_ms) (optionally of one skill), from their events.

    Definitions: :mod:`dispatcher.kpis`. Occupancy's available time is (agents who handled work in the
    window × window length): the audit trail does not record log-in time.
    """
    facts: dict[str, _TaskFacts] = {}
    agents: set[str] = set()
    busy_ms = 0
    for e in events:
        task_id, kind, at = e["task_id"], e["event"], int(e["at_ms"])
        data = e.get("data") or {}
        if kind == "created":
            if not from_ms <= at < to_ms or (skill is not None and e.get("skill") != skill):
                continue
            facts[task_id] = _TaskFacts(
                skill=e.get("skill", ""), created_ms=at,
                due_ms=int(data["due_ms"]) if isinstance(data, dict) and "due_ms" in data else None,
            )
            continue
        f = facts.get(task_id)
        if f is None:
            continue
        if kind == "offered":
            f.offers += 1
        elif kind == "rejected":
            f.rejections += 1
        elif kind == "expired":
            f.expiries += 1
        elif kind == "accepted":
            f.accepted_ms = at if f.accepted_ms is None else f.accepted_ms
            f.last_accept_ms = at
        elif kind == "completed":
            f.completed_ms = at
            if f.last_accept_ms is not None:
                f.handle_ms.append(at - f.last_accept_ms)
                start, end = max(f.last_accept_ms, from_ms), min(at, to_ms)
                busy_ms += max(0, end - start)
            if e.get("agent_id"):
                agents.add(str(e["agent_id"]))
            if isinstance(data, dict):
                f.fcr = data.get("first_contact_resolved", f.fcr)
                f.complaint = data.get("complaint", f.complaint)
        elif kind == "cancelled":
            f.cancelled_ms = at
        elif kind == "satisfaction" and isinstance(data, dict):
            f.satisfaction = int(data.get("score", 0)) or None
        elif kind in ("sla_alert", "sla_warning"):
            f.alerts += 1
        elif kind == "escalated":
            f.escalations += 1
    horizon = min(to_ms, now_ms)
    tasks = list(facts.values())
    answered = np.array([f.accepted_ms is not None for f in tasks], dtype=np.bool_)
    abandoned = np.array([f.cancelled_ms is not None and f.accepted_ms is None for f in tasks], dtype=np.bool_)
    ended_ms = [f.accepted_ms if f.accepted_ms is not None
                else horizon if f.cancelled_ms is None else min(f.cancelled_ms, horizon) for f in tasks]
    wait_s = np.array([(end - f.created_ms) / 1000 for f, end in zip(tasks, ended_ms, strict=True)], dtype=float)
    threshold_s = np.array([math.inf if f.due_ms is None else (f.due_ms - f.created_ms) / 1000 for f in tasks],
                           dtype=float)
    completed = [f for f in tasks if f.completed_ms is not None]
    stated = np.array([math.nan if f.fcr is None else float(bool(f.fcr)) for f in completed], dtype=float)
    fcr = kpis.first_contact_outcome(stated, np.zeros(len(completed), dtype=np.bool_), reopens_tracked=False)
    complaint_known = [f for f in completed if f.complaint is not None]
    scores = [f.satisfaction for f in tasks if f.satisfaction]
    handles = [h for f in tasks for h in f.handle_ms]
    window_ms = max(1, min(to_ms, now_ms) - from_ms)
    return {
        "tasks": len(facts),
        "answered": int(np.count_nonzero(answered)),
        "completed": len(completed),
        "cancelled": sum(1 for f in tasks if f.cancelled_ms is not None),
        "abandoned": int(np.count_nonzero(abandoned)),
        "service_level": _rounded(kpis.service_level(wait_s, answered, threshold_s), 4),
        "asa_s": _rounded(kpis.asa(wait_s, answered), 3),
        "abandonment_rate": _rounded(kpis.abandonment_rate(answered, abandoned), 4),
        "first_contact_resolution": _rounded(kpis.first_contact_resolution(fcr), 4),
        "complaint_rate": _rounded(kpis.ratio(sum(1 for f in complaint_known if f.complaint), len(complaint_known)),
                                   4),
        "satisfaction_mean": round(sum(scores) / len(scores), 3) if scores else None,
        "aht_s": round(sum(handles) / len(handles) / 1000, 3) if handles else None,
        "occupancy": _rounded(kpis.occupancy(busy_ms, len(agents) * window_ms), 4),
        "offers": sum(f.offers for f in tasks),
        "rejections": sum(f.rejections for f in tasks),
        "expiries": sum(f.expiries for f in tasks),
        "sla_alerts": sum(f.alerts for f in tasks),
        "escalations": sum(f.escalations for f in tasks),
    }
