"""Targets, improvement plans, proficiency previews and overdue-action alerts in Redis (keys ``dw:perf:*``).

Async (redis.asyncio), sharing the live service's client. Also the edge adapters from the live
service's audit events and agent hashes to the canonical event log and agents of the pure core.

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
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
import pandas as pd
from redis import asyncio as aioredis

from dispatcher.domain import Agent
from dispatcher.errors import Conflict, InvalidInput, NotFound
from dispatcher.feedback import ProficiencyChange, ProficiencyPreview
from dispatcher.scorecard import EVENT_COLUMNS, EventKind
from dispatcher.targets import Action, ImprovementPlan, OverdueAlert, Target, overdue_actions

PREVIEW_TTL_S = 86_400


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(value: Any, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"not an ISO 8601 timestamp: {value!r}", field=field) from exc
    if parsed.tzinfo is None:
        raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=field)
    return parsed


def parse_moment(value: str | None, field: str, *, end_of_day: bool = False) -> datetime | None:
    """ISO timestamp with offset, or a plain date (start of day UTC, or end of day for deadlines)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(23, 59, 59) if end_of_day else time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"not an ISO 8601 date or timestamp: {value!r}", field=field) from exc
    if moment.tzinfo is None:
        raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=field)
    return moment


def parse_pairs(text: str | None, field: str) -> dict[str, float]:
    """``sla:0.3,fcr:0.2`` (or ``=``) -> {"sla": 0.3, "fcr": 0.2}."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, number = part.replace("=", ":").partition(":")
        try:
            if not sep:
                raise ValueError(part)
            out[name.strip()] = float(number)
        except ValueError as exc:
            raise InvalidInput(f"expected name:number pairs separated by commas, got {part!r}", field=field) from exc
    return out


def target_to_dict(target: Target) -> dict[str, Any]:
    return {"id": target.id, "kpi": target.kpi, "level": target.level, "scope": target.scope,
            "value": target.value, "owner": target.owner, "deadline": _iso(target.deadline),
            "start": _iso(target.start), "baseline": target.baseline, "description": target.description}


def target_from_dict(data: Mapping[str, Any]) -> Target:
    return Target(
        id=str(data["id"]), kpi=str(data["kpi"]), level=data["level"], scope=str(data["scope"]),
        value=float(data["value"]), owner=str(data["owner"]), deadline=_moment(data["deadline"], "deadline"),
        start=_moment(data["start"], "start") if data.get("start") else None,
        baseline=float(data["baseline"]) if data.get("baseline") is not None else None,
        description=str(data.get("description") or ""),
    )


def plan_to_dict(plan: ImprovementPlan) -> dict[str, Any]:
    return {"id": plan.id, "target_id": plan.target_id, "title": plan.title, "owner": plan.owner,
            "actions": [{"id": a.id, "description": a.description, "owner": a.owner, "due": _iso(a.due),
                         "done_at": _iso(a.done_at)} for a in plan.actions]}


def plan_from_dict(data: Mapping[str, Any]) -> ImprovementPlan:
    actions = tuple(
        Action(id=str(a["id"]), description=str(a["description"]), owner=str(a["owner"]),
               due=_moment(a["due"], "due"), done_at=_moment(a["done_at"], "done_at") if a.get("done_at") else None)
        for a in data.get("actions", ())
    )
    return ImprovementPlan(id=str(data["id"]), target_id=str(data["target_id"]), title=str(data["title"]),
                           owner=str(data["owner"]), actions=actions)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def change_to_dict(change: ProficiencyChange) -> dict[str, Any]:
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in asdict(change).items()}


def change_from_dict(data: Mapping[str, Any]) -> ProficiencyChange:
    values: dict[str, Any] = {k: (math.nan if v is None else v) for k, v in data.items()}
    return ProficiencyChange(**values)


class PerfStore:
    """Performance-management records of one dispatchwise deployment."""

    def __init__(self, client: aioredis.Redis, *, key_prefix: str = "dw") -> None:
        self.client = client
        self.prefix = f"{key_prefix}:perf"

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

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
            body = json.dumps({**asdict(alert), "due": _iso(alert.due), "raised_at": _iso(now)})
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
        if not await self.client.set(self._key("preview", preview_id, "accepted"), _iso(now) or "", nx=True,
                                     ex=PREVIEW_TTL_S):
            raise Conflict(f"preview {preview_id!r} was accepted already", field="preview_id")
        body = {"changes": [change_to_dict(c) for c in changes], "accepted_at": _iso(now)}
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


# ---------------------------------------------------------------------------------------------------
# Live service -> pure core

_CANONICAL = frozenset(k.value for k in EventKind)


def audit_events_to_frame(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Map the live service's audit events (``LiveQueue.audit_events`` views, oldest first) onto the
    canonical event table; events the scorecard does not use (started, transferred, alerts) are dropped.

    ``created`` carries ``data.quadrant`` and ``data.due_ms``; ``completed`` carries the outcome in
    ``data`` (``resolution_code``, ``first_contact_resolved``, ``complaint``, optional ``handle_s``,
    else the time since the task's last ``accepted``); ``satisfaction`` carries ``data.score``. A
    ``cancelled`` whose reason mentions "abandon" before anyone accepted becomes ``abandoned``. A
    ``policy`` in the created event's data (the A/B arm the router used) becomes the ``policy`` column.
    """
    rows: list[dict[str, str]] = []
    queue_of: dict[str, str] = {}
    last_accept: dict[str, int] = {}
    for e in events:
        kind = str(e.get("event", ""))
        if kind not in _CANONICAL:
            continue
        task_id, at_ms = str(e.get("task_id", "")), int(e.get("at_ms", 0))
        raw_data = e.get("data")
        data: Mapping[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        row = dict.fromkeys((*EVENT_COLUMNS, "policy"), "")
        if kind == EventKind.CANCELLED and task_id not in last_accept and "abandon" in str(e.get("data") or "").lower():
            kind = EventKind.ABANDONED.value
        row.update(task_id=task_id, event=kind, at=_iso_ms(at_ms), agent_id=str(e.get("agent_id") or ""))
        if kind == EventKind.CREATED:
            queue_of[task_id] = str(e.get("skill", ""))
            row["queue"] = queue_of[task_id]
            row["quadrant"] = str(data.get("quadrant", ""))
            row["policy"] = str(data.get("policy") or "")
            if data.get("due_ms") is not None:
                row["response_due_at"] = _iso_ms(int(data["due_ms"]))
        elif kind == EventKind.ACCEPTED:
            last_accept[task_id] = at_ms
        elif kind == EventKind.COMPLETED:
            handle = data.get("handle_s")
            if handle is None:
                handle = max(at_ms - last_accept.get(task_id, at_ms), 0) / 1000
            row["handle_s"] = str(handle)
            row["resolution_code"] = str(data.get("resolution_code") or "")
            for flag in ("first_contact_resolved", "complaint"):
                if data.get(flag) is not None:
                    row[flag] = str(bool(data[flag])).lower()
        elif kind == EventKind.SATISFACTION:
            row["satisfaction"] = str(data.get("score", ""))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*EVENT_COLUMNS, "policy"])


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def agent_from_hash(h: Mapping[str, str]) -> Agent:
    """An :class:`Agent` from the live service's agent hash (skills and primary skills are JSON)."""
    return Agent(id=h["id"], name=h.get("name", "") or h["id"], skills=orjson.loads(h.get("skills", "{}")),
                 primary_skills=frozenset(orjson.loads(h.get("primary", "[]"))),
                 capacity=int(h.get("capacity", "1") or 1), team=h.get("team", ""),
                 supervisor=h.get("supervisor", ""))


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
