"""Real-time adherence from the published roster and the live agent board, and its alerts.

Without a roster in force for today there is no schedule to adhere to: the board is empty and no
alert is raised (so an unpublished site behaves as before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.store.plan import PlanStore
from api.store.queue import LiveQueue
from api.store.records import datetime_from_ms
from dispatcher.adherence import Adherence, adherence, live_status, scheduled_state

ALERT_MEMORY_MS = 24 * 3600 * 1000
"""An out-of-adherence spell is alerted once; its mark is kept this long."""


@dataclass(frozen=True, slots=True)
class AgentAdherence:
    agent_id: str
    supervisor: str
    verdict: Adherence

    def view(self) -> dict[str, Any]:
        v = self.verdict
        return {"agent_id": self.agent_id, "scheduled": v.scheduled, "status": v.status,
                "in_adherence": v.in_adherence, "out_since": _iso(v.out_since)}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


async def adherence_board(queue: LiveQueue, plan: PlanStore, now: datetime) -> list[AgentAdherence]:
    """Every known agent's scheduled state, live status and adherence at ``now`` (empty without a roster)."""
    near = await plan.shifts_near(now)
    if near is None:
        return []
    out = []
    for h in await plan.agent_board():
        agent_id = h["id"]
        status = live_status(h.get("status", "offline"), int(h.get("active") or 0))
        since = datetime_from_ms(h["status_ms"]) if h.get("status_ms") else None
        verdict = adherence(scheduled_state(near.get(agent_id, ()), now), status, since)
        out.append(AgentAdherence(agent_id, h.get("supervisor", ""), verdict))
    return out


async def raise_adherence_alerts(queue: LiveQueue, plan: PlanStore, now: datetime, *, threshold_s: float) -> int:
    """Alert each agent's supervisor once per spell out of adherence longer than ``threshold_s``."""
    raised = 0
    for row in await adherence_board(queue, plan, now):
        out_since = row.verdict.out_since
        if row.verdict.in_adherence or out_since is None:
            continue
        minutes = (now - out_since).total_seconds() / 60
        if minutes * 60 < threshold_s:
            continue
        v = row.verdict
        message = (f"agent {row.agent_id} out of adherence for {minutes:.0f} min: scheduled {v.scheduled}, "
                   f"{v.status} since {_iso(out_since)}")
        alert = await plan.raise_once(
            f"adherence:{row.agent_id}:{int(out_since.timestamp() * 1000)}", ttl_ms=ALERT_MEMORY_MS,
            kind="adherence", level="alert", owner=row.supervisor or "supervisor", message=message,
            agent_id=row.agent_id, event="adherence_alert", data=row.view(),
        )
        raised += alert is not None
    return raised
