"""Targets, improvement plans, proficiency previews and overdue-action alerts in Redis (keys ``dw:perf:*``).

Async (redis.asyncio), sharing the live service's client. Key names come from api.store.keys.

Keys (prefix ``{p}`` = ``<key_prefix>:perf``)
- ``{p}:target:{id}`` string, JSON target · ``{p}:targets`` set of target ids
- ``{p}:plan:{id}`` string, JSON plan · ``{p}:plans`` set of plan ids
- ``{p}:preview:{id}`` string, JSON proficiency preview (expires after ``PREVIEW_TTL_S``)
- ``{p}:proficiency`` hash agent id -> JSON skills accepted by a supervisor
- ``{p}:alert:{plan}:{action}`` string, JSON overdue alert · ``{p}:alerts`` sorted set by raise time (ms)
- ``{p}:seq`` counter for generated ids
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from redis import asyncio as aioredis

from api.formats.scorecard import (
    change_from_dict,
    change_to_dict,
    iso_or_none,
    plan_from_dict,
    plan_to_dict,
    target_from_dict,
    target_to_dict,
)
from api.store.keys import Keys
from api.store.queue import LiveQueue
from dispatcher.domain import Agent
from dispatcher.errors import Conflict, NotFound
from dispatcher.feedback import ProficiencyChange, ProficiencyPreview
from dispatcher.targets import ImprovementPlan, OverdueAlert, Target, overdue_actions

PREVIEW_TTL_S = 86_400


class PerfStore:
    """Performance-management records of one dispatchwise deployment."""

    def __init__(self, client: aioredis.Redis, *, key_prefix: str = "dw") -> None:
        self.client = client
        self.keys = Keys(key_prefix)

    @classmethod
    def beside(cls, queue: LiveQueue) -> PerfStore:
        """The store on the live queue's Redis connection and key prefix."""
        return cls(queue.redis, key_prefix=queue.keys.prefix)

    def _key(self, *parts: str) -> str:
        return self.keys.perf(*parts)

    async def next_id(self, kind: str) -> str:
        return f"{kind}-{int(await self.client.incr(self._key('seq')))}"

    # targets -------------------------------------------------------------------------------------
    async def create_target(self, target: Target) -> Target:
        if not await self.client.set(self._key("target", target.id), json.dumps(target_to_dict(target)), nx=True):
            raise Conflict(f"target {target.id!r} exists already", field="id")
        await self.client.sadd(self._key("targets"), target.id)
        return target

    async def replace_target(self, target: Target) -> Target:
        await self.get_target(target.id)
        await self.client.set(self._key("target", target.id), json.dumps(target_to_dict(target)))
        return target

    async def get_target(self, target_id: str) -> Target:
        raw = await self.client.get(self._key("target", target_id))
        if raw is None:
            raise NotFound(f"no target {target_id!r}", field="target_id")
        return target_from_dict(json.loads(raw))

    async def list_targets(self) -> list[Target]:
        ids = sorted(_decode(i) for i in await self.client.smembers(self._key("targets")))
        raws = await self.client.mget([self._key("target", i) for i in ids]) if ids else []
        return [target_from_dict(json.loads(r)) for r in raws if r is not None]

    async def delete_target(self, target_id: str) -> None:
        await self.get_target(target_id)
        using = [p.id for p in (await self.list_plans()) if p.target_id == target_id]
        if using:
            raise Conflict(f"target {target_id!r} still has plans {using}; delete them first", field="target_id")
        await self.client.delete(self._key("target", target_id))
        await self.client.srem(self._key("targets"), target_id)

    # plans ---------------------------------------------------------------------------------------
    async def create_plan(self, plan: ImprovementPlan) -> ImprovementPlan:
        await self.get_target(plan.target_id)
        if not await self.client.set(self._key("plan", plan.id), json.dumps(plan_to_dict(plan)), nx=True):
            raise Conflict(f"plan {plan.id!r} exists already", field="id")
        await self.client.sadd(self._key("plans"), plan.id)
        return plan

    async def replace_plan(self, plan: ImprovementPlan) -> ImprovementPlan:
        await self.get_plan(plan.id)
        await self.get_target(plan.target_id)
        await self.client.set(self._key("plan", plan.id), json.dumps(plan_to_dict(plan)))
        return plan

    async def get_plan(self, plan_id: str) -> ImprovementPlan:
        raw = await self.client.get(self._key("plan", plan_id))
        if raw is None:
            raise NotFound(f"no plan {plan_id!r}", field="plan_id")
        return plan_from_dict(json.loads(raw))

    async def list_plans(self) -> list[ImprovementPlan]:
        ids = sorted(_decode(i) for i in await self.client.smembers(self._key("plans")))
        raws = await self.client.mget([self._key("plan", i) for i in ids]) if ids else []
        return [plan_from_dict(json.loads(r)) for r in raws if r is not None]

    async def delete_plan(self, plan_id: str) -> None:
        await self.get_plan(plan_id)
        await self.client.delete(self._key("plan", plan_id))
        await self.client.srem(self._key("plans"), plan_id)

    async def complete_action(self, plan_id: str, action_id: str, at: datetime) -> ImprovementPlan:
        plan = (await self.get_plan(plan_id)).mark_done(action_id, at)
        await self.client.set(self._key("plan", plan_id), json.dumps(plan_to_dict(plan)))
        await self.client.delete(self._key("alert", plan_id, action_id))
        await self.client.zrem(self._key("alerts"), f"{plan_id}:{action_id}")
        return plan

    # overdue-action alerts -----------------------------------------------------------------------
    async def raise_overdue_alerts(self, now: datetime) -> list[OverdueAlert]:
        """Record an alert for each newly overdue open action (once per action); returns the new ones."""
        raised = []
        for alert in overdue_actions((await self.list_plans()), now=now):
            member = f"{alert.plan_id}:{alert.action_id}"
            body = json.dumps({**asdict(alert), "due": iso_or_none(alert.due), "raised_at": iso_or_none(now)})
            if await self.client.set(self._key("alert", alert.plan_id, alert.action_id), body, nx=True):
                await self.client.zadd(self._key("alerts"), {member: int(now.timestamp() * 1000)})
                raised.append(alert)
        return raised

    async def list_alerts(self) -> list[dict[str, Any]]:
        members = await self.client.zrange(self._key("alerts"), 0, -1)
        keys = [self._key("alert", *_decode(m).split(":", 1)) for m in members]
        return [json.loads(r) for r in (await self.client.mget(keys) if keys else []) if r is not None]

    # proficiency previews ------------------------------------------------------------------------
    async def save_preview(self, preview: ProficiencyPreview) -> str:
        preview_id = await self.next_id("preview")
        body = {"changes": [change_to_dict(c) for c in preview.diff], "accepted_at": None}
        await self.client.set(self._key("preview", preview_id), json.dumps(body), ex=PREVIEW_TTL_S)
        return preview_id

    async def get_preview(self, preview_id: str) -> tuple[list[ProficiencyChange], str | None]:
        raw = await self.client.get(self._key("preview", preview_id))
        if raw is None:
            raise NotFound(f"no proficiency preview {preview_id!r} (unknown or expired)", field="preview_id")
        body = json.loads(raw)
        return [change_from_dict(c) for c in body["changes"]], body["accepted_at"]

    async def accept_preview(self, preview_id: str, agents: Iterable[Agent], now: datetime) -> None:
        """Mark a preview accepted, atomically and once (Conflict the second time), and record the
        accepted skills of the agents it changed."""
        changes, _ = await self.get_preview(preview_id)
        if not await self.client.set(self._key("preview", preview_id, "accepted"), iso_or_none(now) or "", nx=True,
                                     ex=PREVIEW_TTL_S):
            raise Conflict(f"preview {preview_id!r} was accepted already", field="preview_id")
        body = {"changes": [change_to_dict(c) for c in changes], "accepted_at": iso_or_none(now)}
        touched = {c.agent_id for c in changes}
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self._key("preview", preview_id), json.dumps(body), keepttl=True)
            for agent in agents:
                if agent.id in touched:
                    pipe.hset(self._key("proficiency"), agent.id, json.dumps(dict(agent.skills)))
            await pipe.execute()

    async def accepted_proficiencies(self) -> dict[str, dict[str, int]]:
        raw: Mapping[Any, Any] = await self.client.hgetall(self._key("proficiency"))
        return {_decode(agent): json.loads(skills) for agent, skills in raw.items()}


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
