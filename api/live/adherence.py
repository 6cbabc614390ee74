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
MAX_SAMPLE_GAP_S = 60.0
"""Adherence time is sampled; a longer gap between samples (service stopped) credits only this much."""


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


async def raise_adherence_alerts(queue: LiveQueue, plan: PlanStore, now: datetime, *, threshold_s: float,
                                 board: list[AgentAdherence] | None = None) -> int:
    """Alert each agent's supervisor once per spell out of adherence longer than ``threshold_s``."""
    raised = 0
    for row in board if board is not None else await adherence_board(queue, plan, now):
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


def adherence_seconds(board: list[AgentAdherence], dt_s: float) -> dict[str, tuple[float, float]]:
    """One sample's credit: ``dt_s`` of scheduled work to each agent scheduled to work now, and as much
    working time to those of them in adherence (available or holding tasks)."""
    return {row.agent_id: (dt_s, dt_s if row.verdict.in_adherence else 0.0)
            for row in board if row.verdict.scheduled == "work"}


async def record_adherence_time(queue: LiveQueue, plan: PlanStore, now: datetime,
                                max_gap_s: float = MAX_SAMPLE_GAP_S, board: list[AgentAdherence] | None = None) -> int:
    """Sample the adherence board into the day's per-agent totals that feed the scorecard's adherence
    (working / scheduled work) and occupancy (handling / working); returns the agents credited."""
    dt_s = await plan.credit_adherence(now, max_gap_s)
    if dt_s <= 0:
        return 0
    if board is None:
        board = await adherence_board(queue, plan, now)
    credit = adherence_seconds(board, dt_s)
    await plan.add_adherence_time(plan.local_day(now), credit)
    return len(credit)
