"""Targets, improvement plans, proficiency previews and overdue-action alerts in Redis (keys ``dw:perf:*``).

Also the edge adapter from the live service's audit stream (``dw:audit``) to the canonical event log
of :mod:`dispatcher.scorecard`.

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
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import redis

from dispatcher.domain import Agent, Quadrant
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
    values = {k: (math.nan if v is None else v) for k, v in data.items()}
    return ProficiencyChange(**values)


class PerfStore:
    """Performance-management records of one dispatchwise deployment."""

    def __init__(self, client: redis.Redis, *, key_prefix: str = "dw") -> None:
        self.client = client
        self.prefix = f"{key_prefix}:perf"

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def next_id(self, kind: str) -> str:
        return f"{kind}-{int(self.client.incr(self._key('seq')))}"

    # targets -------------------------------------------------------------------------------------
    def create_target(self, target: Target) -> Target:
        if not self.client.set(self._key("target", target.id), json.dumps(target_to_dict(target)), nx=True):
            raise Conflict(f"target {target.id!r} exists already", field="id")
        self.client.sadd(self._key("targets"), target.id)
        return target

    def replace_target(self, target: Target) -> Target:
        self.get_target(target.id)
        self.client.set(self._key("target", target.id), json.dumps(target_to_dict(target)))
        return target

    def get_target(self, target_id: str) -> Target:
        raw = self.client.get(self._key("target", target_id))
        if raw is None:
            raise NotFound(f"no target {target_id!r}", field="target_id")
        return target_from_dict(json.loads(raw))

    def list_targets(self) -> list[Target]:
        ids = sorted(_decode(i) for i in self.client.smembers(self._key("targets")))
        raws = self.client.mget([self._key("target", i) for i in ids]) if ids else []
        return [target_from_dict(json.loads(r)) for r in raws if r is not None]

    def delete_target(self, target_id: str) -> None:
        self.get_target(target_id)
        using = [p.id for p in self.list_plans() if p.target_id == target_id]
        if using:
            raise Conflict(f"target {target_id!r} still has plans {using}; delete them first", field="target_id")
        self.client.delete(self._key("target", target_id))
        self.client.srem(self._key("targets"), target_id)

    # plans ---------------------------------------------------------------------------------------
    def create_plan(self, plan: ImprovementPlan) -> ImprovementPlan:
        self.get_target(plan.target_id)
        if not self.client.set(self._key("plan", plan.id), json.dumps(plan_to_dict(plan)), nx=True):
            raise Conflict(f"plan {plan.id!r} exists already", field="id")
        self.client.sadd(self._key("plans"), plan.id)
        return plan

    def replace_plan(self, plan: ImprovementPlan) -> ImprovementPlan:
        self.get_plan(plan.id)
        self.get_target(plan.target_id)
        self.client.set(self._key("plan", plan.id), json.dumps(plan_to_dict(plan)))
        return plan

    def get_plan(self, plan_id: str) -> ImprovementPlan:
        raw = self.client.get(self._key("plan", plan_id))
        if raw is None:
            raise NotFound(f"no plan {plan_id!r}", field="plan_id")
        return plan_from_dict(json.loads(raw))

    def list_plans(self) -> list[ImprovementPlan]:
        ids = sorted(_decode(i) for i in self.client.smembers(self._key("plans")))
        raws = self.client.mget([self._key("plan", i) for i in ids]) if ids else []
        return [plan_from_dict(json.loads(r)) for r in raws if r is not None]

    def delete_plan(self, plan_id: str) -> None:
        self.get_plan(plan_id)
        self.client.delete(self._key("plan", plan_id))
        self.client.srem(self._key("plans"), plan_id)

    def complete_action(self, plan_id: str, action_id: str, at: datetime) -> ImprovementPlan:
        plan = self.get_plan(plan_id).mark_done(action_id, at)
        self.client.set(self._key("plan", plan_id), json.dumps(plan_to_dict(plan)))
        self.client.delete(self._key("alert", plan_id, action_id))
        self.client.zrem(self._key("alerts"), f"{plan_id}:{action_id}")
        return plan

    # overdue-action alerts -----------------------------------------------------------------------
    def raise_overdue_alerts(self, now: datetime) -> list[OverdueAlert]:
        """Record an alert for each newly overdue open action (once per action); returns the new ones."""
        raised = []
        for alert in overdue_actions(self.list_plans(), now=now):
            member = f"{alert.plan_id}:{alert.action_id}"
            body = json.dumps({**asdict(alert), "due": _iso(alert.due), "raised_at": _iso(now)})
            if self.client.set(self._key("alert", alert.plan_id, alert.action_id), body, nx=True):
                self.client.zadd(self._key("alerts"), {member: int(now.timestamp() * 1000)})
                raised.append(alert)
        return raised

    def list_alerts(self) -> list[dict[str, Any]]:
        members = self.client.zrange(self._key("alerts"), 0, -1)
        keys = [self._key("alert", *_decode(m).split(":", 1)) for m in members]
        return [json.loads(r) for r in (self.client.mget(keys) if keys else []) if r is not None]

    # proficiency previews ------------------------------------------------------------------------
    def save_preview(self, preview: ProficiencyPreview) -> str:
        preview_id = self.next_id("preview")
        body = {"changes": [change_to_dict(c) for c in preview.diff], "accepted_at": None}
        self.client.set(self._key("preview", preview_id), json.dumps(body), ex=PREVIEW_TTL_S)
        return preview_id

    def get_preview(self, preview_id: str) -> tuple[list[ProficiencyChange], str | None]:
        raw = self.client.get(self._key("preview", preview_id))
        if raw is None:
            raise NotFound(f"no proficiency preview {preview_id!r} (unknown or expired)", field="preview_id")
        body = json.loads(raw)
        return [change_from_dict(c) for c in body["changes"]], body["accepted_at"]

    def accept_preview(self, preview_id: str, agents: Iterable[Agent], now: datetime) -> list[ProficiencyChange]:
        """Mark a preview accepted (once) and record the accepted skills of the agents it changes."""
        changes, accepted_at = self.get_preview(preview_id)
        if accepted_at is not None:
            raise Conflict(f"preview {preview_id!r} was accepted at {accepted_at}", field="preview_id")
        body = {"changes": [change_to_dict(c) for c in changes], "accepted_at": _iso(now)}
        with self.client.pipeline() as pipe:
            pipe.set(self._key("preview", preview_id), json.dumps(body), keepttl=True)
            touched = {c.agent_id for c in changes}
            for agent in agents:
                if agent.id in touched:
                    pipe.hset(self._key("proficiency"), agent.id, json.dumps(dict(agent.skills)))
            pipe.execute()
        return changes

    def accepted_proficiencies(self) -> dict[str, dict[str, int]]:
        raw: Mapping[Any, Any] = self.client.hgetall(self._key("proficiency"))
        return {_decode(agent): json.loads(skills) for agent, skills in raw.items()}


# ---------------------------------------------------------------------------------------------------
# Audit stream -> canonical event log

_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "task_id": ("task_id", "task"),
    "event": ("event", "type", "kind"),
    "queue": ("queue", "skill"),
    "agent_id": ("agent_id", "agent"),
    "response_due_at": ("response_due_at", "due_at"),
    "satisfaction": ("satisfaction", "score"),
}


def _pick(fields: Mapping[str, str], column: str) -> str:
    for name in _FIELD_ALIASES.get(column, (column,)):
        value = fields.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def _timestamp(fields: Mapping[str, str], entry_id: str, *names: str) -> str:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            text = str(value)
            if text.replace(".", "", 1).isdigit():  # epoch milliseconds
                return datetime.fromtimestamp(float(text) / 1000, tz=UTC).isoformat()
            return text
    return datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, tz=UTC).isoformat() if names[0] == "at" else ""


def audit_entries_to_frame(entries: Iterable[tuple[str, Mapping[str, str]]]) -> pd.DataFrame:
    """Map audit-stream entries (id, fields) onto the canonical event columns; other events are dropped.

    Accepts ``at`` as ISO text or epoch ms (``at_ms``/``ts``; else the stream id's time), the quadrant
    as ``quadrant`` or ``urgent``/``important`` flags, and handle time as ``handle_s`` or ``handle_ms``.
    """
    known = {k.value for k in EventKind}
    rows = []
    for entry_id, fields in entries:
        event = _pick(fields, "event").lower()
        if event not in known:
            continue
        row = {c: _pick(fields, c) for c in EVENT_COLUMNS}
        row["event"] = event
        row["at"] = _timestamp(fields, entry_id, "at", "at_ms", "ts")
        row["created_at"] = _timestamp(fields, entry_id, "created_at", "created_ms")
        if not row["quadrant"] and event == EventKind.CREATED:
            urgent = str(fields.get("urgent", "")).lower() in {"1", "true"}
            important = str(fields.get("important", "")).lower() in {"1", "true"}
            row["quadrant"] = Quadrant.from_flags(urgent, important).value
        if not row["handle_s"] and fields.get("handle_ms"):
            row["handle_s"] = str(float(fields["handle_ms"]) / 1000)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))


def read_audit_stream(client: redis.Redis, *, key_prefix: str = "dw", count: int = 10_000) -> pd.DataFrame:
    """The whole audit stream (``{key_prefix}:audit``) as a canonical event table, read in pages."""
    key = f"{key_prefix}:audit"
    entries: list[tuple[str, Mapping[str, str]]] = []
    start = "-"
    while True:
        page = client.xrange(key, min=start, max="+", count=count)
        if not page:
            break
        entries.extend((_decode(i), {_decode(k): _decode(v) for k, v in f.items()}) for i, f in page)
        if len(page) < count:
            break
        start = "(" + _decode(page[-1][0])
    return audit_entries_to_frame(entries)


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
