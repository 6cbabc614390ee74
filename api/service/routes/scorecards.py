"""Performance management: scorecards, targets and plans, the A/B report, proficiency feedback.

Mounted by the app under ``/v1`` with supervisor auth. Thin: parse, load the event log from the audit
trail, call the pure core in a worker thread, shape JSON (NaN becomes null).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.formats.scorecard import (
    change_to_dict,
    parse_moment,
    parse_pairs,
    plan_from_dict,
    plan_to_dict,
    target_from_dict,
    target_to_dict,
)
from api.live.audit_log import audit_events_to_frame
from api.service.deps import QueueDep
from api.service.routes.plan import PlanDep
from api.store.perf import PerfStore
from api.store.plan import PlanStore
from api.store.queue import LiveQueue
from api.store.records import agent_from_hash
from dispatcher.abtest import ab_report
from dispatcher.domain import Agent
from dispatcher.errors import InvalidInput
from dispatcher.feedback import ReestimationConfig, apply_preview, outcomes_from_log, preview_proficiencies
from dispatcher.scorecard import (
    EventLog,
    OutcomeConfig,
    Scorecard,
    ScoringConfig,
    event_log_from_frame,
    scorecards,
)
from dispatcher.targets import ImprovementPlan, Target, TargetStatus, measure, target_status

router = APIRouter(tags=["performance"])



def get_perf_store(queue: QueueDep) -> PerfStore:
    return PerfStore.beside(queue)


PerfStoreDep = Annotated[PerfStore, Depends(get_perf_store)]


# ---- helpers --------------------------------------------------------------------------------------


def clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, datetimes ISO text, containers recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def clean_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): clean(v) for k, v in value.items()}


def now_of(queue: LiveQueue) -> datetime:
    return datetime.fromtimestamp(queue.now_ms() / 1000, tz=UTC)


async def load_event_log(queue: LiveQueue) -> EventLog:
    """The whole audit trail as a canonical event log (events of trimmed-away tasks are dropped)."""
    frame = audit_events_to_frame(await queue.all_audit_events())
    return await run_in_threadpool(event_log_from_frame, frame, sla_policy=queue.policy, drop_orphans=True)


async def load_agents(queue: LiveQueue) -> list[Agent]:
    return [agent_from_hash(h) for h in await queue.agent_hashes()]


async def live_agent_time(plan: PlanStore, start: datetime | None, end: datetime | None) -> pd.DataFrame | None:
    """The scorecard's agent-time table from live adherence (sampled against the published roster):
    ``scheduled_s`` = scheduled work, ``on_shift_s`` = working during it; None when nothing was sampled."""
    last = None if end is None else plan.local_day(end - timedelta(microseconds=1))
    totals = await plan.adherence_time(None if start is None else plan.local_day(start), last)
    if not totals:
        return None
    frame = pd.DataFrame.from_dict(totals, orient="index", columns=["scheduled_s", "on_shift_s"])
    frame.index.name = "agent_id"
    return frame.sort_index()


def card_json(card: Scorecard) -> dict[str, Any]:
    return {
        "key": card.key, "composite": card.composite, "metrics": dict(card.metrics),
        "components": [{"metric": c.metric, "value": c.value, "target": c.target,
                        "higher_is_better": c.higher_is_better, "weight": c.weight, "score": c.score,
                        "points": c.contribution, "sample": c.sample, "counted": c.counted}
                       for c in card.components],
        "explain": card.explain(),
    }


def status_json(status: TargetStatus, *, history: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actual": status.actual, "achievement_rate": status.achievement_rate, "met": status.met,
        "progress": status.progress, "trend": status.trend, "slope_per_day": status.slope_per_day,
        "projected_at_deadline": status.projected_at_deadline, "on_track": status.on_track,
        "days_left": status.days_left, "overdue": status.overdue,
    }
    if history:
        body["history"] = [{"start": m.start, "end": m.end, "value": m.value, "sample": m.sample}
                           for m in status.history]
    return body


# ---- scorecards -----------------------------------------------------------------------------------


@router.get("/scorecards")
async def get_scorecards(
    queue: QueueDep,
    plan: PlanDep,
    level: Annotated[Literal["agent", "team", "queue"], Query()] = "agent",
    from_: Annotated[str | None, Query(alias="from", description="ISO date/time; tasks created from")] = None,
    to: Annotated[str | None, Query(description="ISO date/time; tasks created before")] = None,
    weights: Annotated[str | None, Query(description="e.g. sla:0.4,fcr:0.3 (others keep defaults)")] = None,
    targets: Annotated[str | None, Query(description="e.g. sla:0.85,asa_s:120")] = None,
    forecast_aht: Annotated[str | None, Query(description="forecast AHT s per queue, e.g. billing:300")] = None,
    reopen_window_h: Annotated[float, Query(ge=0, le=8784)] = 168.0,
    min_sample: Annotated[int, Query(ge=0, description="leave dimensions with fewer observations out")] = 0,
) -> dict[str, Any]:
    start, end = parse_moment(from_, "from"), parse_moment(to, "to")
    scoring = ScoringConfig(min_sample=min_sample).with_weights(parse_pairs(weights, "weights")).with_targets(
        parse_pairs(targets, "targets"))
    log = await load_event_log(queue)
    teams = {a.id: a.team for a in await load_agents(queue) if a.team}
    table = await run_in_threadpool(
        scorecards, log, level=level, start=start, end=end, scoring=scoring,
        outcome=OutcomeConfig(reopen_window_s=reopen_window_h * 3600),
        forecast_aht_s=parse_pairs(forecast_aht, "forecast_aht") or None, agent_teams=teams,
        agent_time=await live_agent_time(plan, start, end),
    )
    return clean_dict({
        "level": level, "from": start, "to": end,
        "dimensions": [{"metric": d.metric, "target": d.target, "weight": d.weight,
                        "higher_is_better": d.higher_is_better} for d in scoring.dimensions],
        "cards": [card_json(c) for c in table.cards],
    })


# ---- targets --------------------------------------------------------------------------------------


class TargetBody(BaseModel):
    id: str | None = None
    kpi: str
    level: Literal["agent", "team", "queue"]
    scope: str
    value: float
    owner: str
    deadline: str = Field(description="ISO date (end of that day, UTC) or timestamp with offset")
    start: str | None = None
    baseline: float | None = None
    description: str = ""


def target_of(body: TargetBody, target_id: str) -> Target:
    deadline = parse_moment(body.deadline, "deadline", end_of_day=True)
    if deadline is None:
        raise InvalidInput("deadline is required", field="deadline")
    data = {**body.model_dump(), "id": target_id, "deadline": deadline.isoformat(),
            "start": (parse_moment(body.start, "start") or None)}
    data["start"] = data["start"].isoformat() if data["start"] else None
    return target_from_dict(data)


async def status_of(queue: LiveQueue, log: EventLog, target: Target) -> TargetStatus:
    now = now_of(queue)
    teams = {a.id: a.team for a in await load_agents(queue) if a.team}
    history = await run_in_threadpool(functools.partial(measure, log, target, until=now, agent_teams=teams))
    return target_status(target, history, now=now)


@router.post("/targets", status_code=201)
async def create_target(body: TargetBody, store: PerfStoreDep) -> dict[str, Any]:
    target = target_of(body, body.id or await store.next_id("target"))
    await store.create_target(target)
    return clean_dict(target_to_dict(target))


@router.get("/targets")
async def list_targets(queue: QueueDep, store: PerfStoreDep,
                       status: Annotated[bool, Query(description="measure each target")] = True) -> list[Any]:
    targets = await store.list_targets()
    if not status or not targets:
        return [clean(target_to_dict(t)) for t in targets]
    log = await load_event_log(queue)
    return [clean({**target_to_dict(t), "status": status_json(await status_of(queue, log, t), history=False)})
            for t in targets]


@router.get("/targets/{target_id}")
async def get_target(target_id: str, queue: QueueDep, store: PerfStoreDep) -> dict[str, Any]:
    target = await store.get_target(target_id)
    status = await status_of(queue, await load_event_log(queue), target)
    return clean_dict({**target_to_dict(target), "status": status_json(status, history=True)})


@router.put("/targets/{target_id}")
async def replace_target(target_id: str, body: TargetBody, store: PerfStoreDep) -> dict[str, Any]:
    if body.id not in (None, target_id):
        raise InvalidInput(f"body id {body.id!r} differs from the path's {target_id!r}", field="id")
    target = await store.replace_target(target_of(body, target_id))
    return clean_dict(target_to_dict(target))


@router.delete("/targets/{target_id}", status_code=204)
async def delete_target(target_id: str, store: PerfStoreDep) -> Response:
    await store.delete_target(target_id)
    return Response(status_code=204)


# ---- plans ----------------------------------------------------------------------------------------


class ActionBody(BaseModel):
    id: str | None = None
    description: str
    owner: str
    due: str
    done_at: str | None = None


class PlanBody(BaseModel):
    id: str | None = None
    target_id: str
    title: str
    owner: str
    actions: list[ActionBody] = []


def plan_of(body: PlanBody, plan_id: str) -> ImprovementPlan:
    actions = []
    for i, action in enumerate(body.actions, start=1):
        due = parse_moment(action.due, f"actions[{i - 1}].due", end_of_day=True)
        done = parse_moment(action.done_at, f"actions[{i - 1}].done_at")
        actions.append({"id": action.id or f"a{i}", "description": action.description, "owner": action.owner,
                        "due": due.isoformat() if due else "", "done_at": done.isoformat() if done else None})
    return plan_from_dict({"id": plan_id, "target_id": body.target_id, "title": body.title, "owner": body.owner,
                           "actions": actions})


def plan_json(plan: ImprovementPlan, now: datetime) -> dict[str, Any]:
    body = plan_to_dict(plan)
    body["completion"] = plan.completion
    for action, data in zip(plan.actions, body["actions"], strict=True):
        data["overdue"] = not action.done and action.due < now
    cleaned: dict[str, Any] = clean(body)
    return cleaned


@router.post("/plans", status_code=201)
async def create_plan(body: PlanBody, queue: QueueDep, store: PerfStoreDep) -> dict[str, Any]:
    plan = await store.create_plan(plan_of(body, body.id or await store.next_id("plan")))
    return plan_json(plan, now_of(queue))


@router.get("/plans")
async def list_plans(queue: QueueDep, store: PerfStoreDep) -> list[dict[str, Any]]:
    now = now_of(queue)
    return [plan_json(p, now) for p in await store.list_plans()]


@router.get("/plans/alerts")
async def plan_alerts(store: PerfStoreDep) -> list[Any]:
    """Alerts raised so far for overdue actions (oldest first)."""
    return [clean(a) for a in await store.list_alerts()]


@router.post("/plans/alerts/sweep")
async def sweep_plan_alerts(queue: QueueDep, store: PerfStoreDep) -> list[Any]:
    """Raise an alert to the owner of every newly overdue open action; returns the new alerts."""
    raised = await store.raise_overdue_alerts(now_of(queue))
    return [clean({"plan_id": a.plan_id, "target_id": a.target_id, "action_id": a.action_id, "owner": a.owner,
                   "plan_owner": a.plan_owner, "description": a.description, "due": a.due,
                   "overdue_s": a.overdue_s}) for a in raised]


@router.get("/plans/{plan_id}")
async def get_plan(plan_id: str, queue: QueueDep, store: PerfStoreDep) -> dict[str, Any]:
    return plan_json(await store.get_plan(plan_id), now_of(queue))


@router.put("/plans/{plan_id}")
async def replace_plan(plan_id: str, body: PlanBody, queue: QueueDep, store: PerfStoreDep) -> dict[str, Any]:
    if body.id not in (None, plan_id):
        raise InvalidInput(f"body id {body.id!r} differs from the path's {plan_id!r}", field="id")
    return plan_json(await store.replace_plan(plan_of(body, plan_id)), now_of(queue))


@router.delete("/plans/{plan_id}", status_code=204)
async def delete_plan(plan_id: str, store: PerfStoreDep) -> Response:
    await store.delete_plan(plan_id)
    return Response(status_code=204)


@router.post("/plans/{plan_id}/actions/{action_id}/done")
async def complete_action(plan_id: str, action_id: str, queue: QueueDep, store: PerfStoreDep) -> dict[str, Any]:
    now = now_of(queue)
    return plan_json(await store.complete_action(plan_id, action_id, now), now)


# ---- A/B ------------------------------------------------------------------------------------------


@router.get("/abtest")
async def get_abtest(
    queue: QueueDep,
    salt: Annotated[str, Query(description="experiment salt used by the split")] = "",
    share_b: Annotated[float, Query(ge=0, le=1)] = 0.5,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Annotated[str | None, Query()] = None,
    policies: Annotated[str | None, Query(description="A,B policy names when the log records them")] = None,
) -> dict[str, Any]:
    names = [p.strip() for p in policies.split(",")] if policies else None
    log = await load_event_log(queue)
    report = await run_in_threadpool(ab_report, log, salt=salt, share_b=share_b, start=parse_moment(from_, "from"),
                                     end=parse_moment(to, "to"), policies=names)
    return clean_dict({
        "policies": report.policies, "tasks": report.tasks, "share_b": report.share_b,
        "sample_ratio_p": report.sample_ratio_p, "level": report.level,
        "kpis": [{"kpi": d.kpi, "kind": d.kind, "a": d.a, "b": d.b, "n_a": d.n_a, "n_b": d.n_b,
                  "b_minus_a": d.difference, "ci_low": d.ci_low, "ci_high": d.ci_high,
                  "significant": d.significant} for d in report.kpis],
    })


# ---- proficiency feedback -------------------------------------------------------------------------


class PreviewBody(BaseModel):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    min_outcomes: int = 30
    small_sample_step: int = 1
    max_step: int = 2
    prior_outcomes: float = 20.0
    levels_per_10pct: float = 1.0
    aht_weight: float = 0.5
    reopen_window_h: float = Field(default=168.0, ge=0, le=8784)


class AcceptBody(BaseModel):
    preview_id: str


@router.post("/feedback/proficiency/preview")
async def preview_proficiency(queue: QueueDep, store: PerfStoreDep, body: PreviewBody | None = None) -> dict[str, Any]:
    """Re-estimated proficiencies as a diff to review; nothing changes until it is accepted."""
    body = body or PreviewBody()
    config = ReestimationConfig(min_outcomes=body.min_outcomes, small_sample_step=body.small_sample_step,
                                max_step=body.max_step, prior_outcomes=body.prior_outcomes,
                                levels_per_10pct=body.levels_per_10pct, aht_weight=body.aht_weight)
    start, end = parse_moment(body.from_, "from"), parse_moment(body.to, "to")
    log = await load_event_log(queue)
    agents = await load_agents(queue)

    def compute() -> Any:
        outcomes = outcomes_from_log(log, config=OutcomeConfig(reopen_window_s=body.reopen_window_h * 3600),
                                     start=start, end=end)
        return preview_proficiencies(agents, outcomes, config=config)

    preview = await run_in_threadpool(compute)
    preview_id = await store.save_preview(preview)
    return clean_dict({"preview_id": preview_id, "changes": [change_to_dict(c) for c in preview.diff],
                  "unchanged": len(preview.changes) - len(preview.diff),
                  "estimated": [change_to_dict(c) for c in preview.changes if not c.changed]})


@router.post("/feedback/proficiency/accept")
async def accept_proficiency(body: AcceptBody, queue: QueueDep, store: PerfStoreDep) -> dict[str, Any]:
    """Apply a previewed diff to the live agents (Conflict if an agent changed since, or accepted twice)."""
    changes, _ = await store.get_preview(body.preview_id)
    agents = await load_agents(queue)
    updated = apply_preview(agents, changes)
    await store.accept_preview(body.preview_id, updated, now_of(queue))
    touched = {c.agent_id for c in changes}
    for agent in updated:
        if agent.id in touched:
            await queue.put_agent(agent.id, name=agent.name, skills=dict(agent.skills),
                                  primary_skills=sorted(agent.primary_skills), capacity=agent.capacity,
                                  team=agent.team, supervisor=agent.supervisor)
    return clean_dict({"preview_id": body.preview_id,
                  "applied": [{"agent_id": c.agent_id, "skill": c.skill, "from": c.current, "to": c.proposed}
                              for c in changes]})
