"""KPIs from the audit trail: service level, ASA, abandonment, FCR, handle time, occupancy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


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


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def compute_kpis(
    events: Iterable[Mapping[str, Any]], *, from_ms: int, to_ms: int, now_ms: int, skill: str | None = None
) -> dict[str, Any]:
    """KPIs of the tasks created in [from_ms, to_ms) (optionally of one skill), from their events.

    Service level: share of tasks answered (accepted) by their response due time, among those
    answered plus those whose due time has passed unanswered (abandoned or still waiting).
    Occupancy: handling time inside the window over (agents who handled work × window length).
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
            f.accepted_ms = f.accepted_ms or at
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
    answered = [f for f in facts.values() if f.accepted_ms is not None]
    met = sum(1 for f in answered if f.due_ms is None or (f.accepted_ms or 0) <= f.due_ms)
    missed_unanswered = sum(
        1 for f in facts.values() if f.accepted_ms is None and f.due_ms is not None
        and min(f.cancelled_ms or horizon, horizon) > f.due_ms
    )
    abandoned = [f for f in facts.values() if f.cancelled_ms is not None and f.accepted_ms is None]
    completed = [f for f in facts.values() if f.completed_ms is not None]
    fcr_known = [f for f in completed if f.fcr is not None]
    complaint_known = [f for f in completed if f.complaint is not None]
    scores = [f.satisfaction for f in facts.values() if f.satisfaction]
    handles = [h for f in facts.values() for h in f.handle_ms]
    waits = [(f.accepted_ms or f.created_ms) - f.created_ms for f in answered]
    window_ms = max(1, min(to_ms, now_ms) - from_ms)
    return {
        "tasks": len(facts),
        "answered": len(answered),
        "completed": len(completed),
        "cancelled": sum(1 for f in facts.values() if f.cancelled_ms is not None),
        "abandoned": len(abandoned),
        "service_level": _ratio(met, len(answered) + missed_unanswered),
        "asa_s": round(sum(waits) / len(waits) / 1000, 3) if waits else None,
        "abandonment_rate": _ratio(len(abandoned), len(facts)),
        "first_contact_resolution": _ratio(sum(1 for f in fcr_known if f.fcr), len(fcr_known)),
        "complaint_rate": _ratio(sum(1 for f in complaint_known if f.complaint), len(complaint_known)),
        "satisfaction_mean": round(sum(scores) / len(scores), 3) if scores else None,
        "aht_s": round(sum(handles) / len(handles) / 1000, 3) if handles else None,
        "occupancy": _ratio(busy_ms, len(agents) * window_ms) if agents else None,
        "offers": sum(f.offers for f in facts.values()),
        "rejections": sum(f.rejections for f in facts.values()),
        "expiries": sum(f.expiries for f in facts.values()),
        "sla_alerts": sum(f.alerts for f in facts.values()),
        "escalations": sum(f.escalations for f in facts.values()),
    }
