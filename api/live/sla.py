"""SLA monitor: warns before a target, alerts the owner past it, escalates on the second threshold.

Thresholds come from the foundation's SlaPolicy. Waiting tasks age naturally: every queue is
ordered by response due time (earliest deadline first), so an old normal task overtakes newer
urgent ones once its own deadline is nearer; escalation also makes a task urgent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from api.store.queue import LiveQueue, iso_from_ms
from dispatcher.domain import SlaPolicy

STAGE_NAMES = {1: "warning", 2: "alert", 3: "escalation"}


@dataclass(frozen=True, slots=True)
class StageDecision:
    stage: int
    """0 none yet, 1 warn, 2 alert (owner), 3 escalate (supervisor)."""
    next_trigger_ms: int | None


def stage_at(now_ms: int, deadline_ms: int, policy: SlaPolicy) -> StageDecision:
    """Which SLA stage a deadline has reached at ``now_ms``, and when the next stage is due."""
    warn = deadline_ms - int(policy.warn_before_s * 1000)
    alert = deadline_ms + int(policy.alert_after_s * 1000)
    escalate = deadline_ms + int(policy.escalate_after_s * 1000)
    if now_ms >= escalate:
        return StageDecision(3, None)
    if now_ms >= alert:
        return StageDecision(2, escalate)
    if now_ms >= warn:
        return StageDecision(1, alert)
    return StageDecision(0, warn)


def queue_supervisors(agent_rows: list[dict[str, str]]) -> dict[str, str]:
    """Skill -> supervisor: the supervisor named by the first primary owner of the skill."""
    out: dict[str, str] = {}
    for row in sorted(agent_rows, key=lambda r: r.get("id", "")):
        supervisor = row.get("supervisor", "")
        if not supervisor:
            continue
        for skill in orjson.loads(row.get("primary", "[]")):
            out.setdefault(skill, supervisor)
    return out


class SlaMonitor:
    def __init__(self, queue: LiveQueue) -> None:
        self.queue = queue

    async def tick(self) -> int:
        """Raise every stage that is due now; returns how many alerts were raised."""
        queue = self.queue
        now = queue.now_ms()
        rows = await queue.sla_due(now)
        if not rows:
            return 0
        supervisors = queue_supervisors(await queue.agent_hashes())
        raised = 0
        for h in rows:
            raised += await self._advance(h, now, supervisors)
        return raised

    async def _advance(self, h: Mapping[str, str], now: int, supervisors: Mapping[str, str]) -> int:
        queue = self.queue
        kind = h.get("sla_kind") or "response"
        deadline = int(h["resolve_by_ms"] if kind == "resolution" else h["due_ms"])
        decision = stage_at(now, deadline, queue.policy)
        current = int(h.get("sla_stage") or 0)
        if h.get("status") in ("completed", "cancelled"):
            await queue.reschedule_sla(h["id"], None)
            return 0
        if decision.stage <= current:
            await queue.reschedule_sla(h["id"], _trigger_after(current, deadline, queue.policy))
            return 0
        supervisor = supervisors.get(h.get("skill", ""), f"supervisor:{h.get('skill', '')}")
        owner = supervisor if decision.stage == 3 or not h.get("agent") else f"agent:{h['agent']}"
        what = "first response" if kind == "response" else "resolution"
        minutes = (now - deadline) / 60000
        when = f"{minutes:.0f} min past" if minutes >= 0 else f"in {-minutes:.0f} min at"
        message = (
            f"{STAGE_NAMES[decision.stage]}: task {h['id']} ({h.get('quadrant', '')}, {h.get('skill', '')}) "
            f"{what} due {when} {iso_from_ms(deadline)}"
        )
        alert_id = await queue.raise_stage(
            h["id"], stage=decision.stage, kind=kind, owner=owner, message=message,
            next_trigger_ms=decision.next_trigger_ms,
        )
        return 1 if alert_id else 0


def _trigger_after(stage: int, deadline_ms: int, policy: SlaPolicy) -> int | None:
    if stage <= 0:
        return deadline_ms - int(policy.warn_before_s * 1000)
    if stage == 1:
        return deadline_ms + int(policy.alert_after_s * 1000)
    if stage == 2:
        return deadline_ms + int(policy.escalate_after_s * 1000)
    return None
