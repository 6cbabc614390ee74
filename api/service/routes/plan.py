"""Publishing the plan: ``PUT/GET /v1/plan/forecast``, ``PUT/GET /v1/plan/roster`` (supervisors), version
history, and ``GET /v1/agents/{id}/schedule`` (the agent itself or a supervisor)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.formats.plan import DayForecast, parse_forecast, parse_roster, shift_from_json, shift_row
from api.service.auth import acting_agent, actor_of, require_role
from api.service.deps import PrincipalDep, QueueDep, SupervisorDep
from api.store.plan import PlanStore
from api.store.records import agent_from_hash
from dispatcher.errors import InvalidInput

router = APIRouter(tags=["plan"])

MAX_BODY_BYTES = 64 * 1024 * 1024
CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}}


def get_plan(request: Request) -> PlanStore:
    """One PlanStore per app (it caches parsed roster days), on the app's queue and site timezone."""
    plan: PlanStore | None = getattr(request.app.state, "plan", None)
    if plan is None or plan.queue is not request.app.state.queue:
        settings = getattr(request.app.state, "settings", None)  # a bare router in tests has none
        plan = PlanStore(request.app.state.queue, timezone=settings.timezone if settings else "UTC")
        request.app.state.plan = plan
    return plan


PlanDep = Annotated[PlanStore, Depends(get_plan)]


async def _csv_text(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(f"body larger than {MAX_BODY_BYTES} bytes", field="body")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("body is not UTF-8 text", field="body") from exc
    if not text.strip():
        raise InvalidInput("empty body: send the CSV file as text/csv", field="body")
    return text


@router.put("/v1/plan/forecast", openapi_extra=CSV_BODY)
async def publish_forecast(request: Request, queue: QueueDep, plan: PlanDep, principal: SupervisorDep) -> Any:
    """Publish forecast.csv (``queue,period_start,volume,aht_s``); its days replace those days' forecast."""
    text = await _csv_text(request)
    skills = {s for h in await queue.agent_hashes() for s in agent_from_hash(h).skills}
    body = parse_forecast(text, skills, plan.tz)
    return (await plan.publish(body, actor=actor_of(principal), text=text)).view()


@router.put("/v1/plan/roster", openapi_extra=CSV_BODY)
async def publish_roster(request: Request, queue: QueueDep, plan: PlanDep, principal: SupervisorDep) -> Any:
    """Publish roster.csv (``agent_id,date,start,end,breaks,skills``); its days replace those days' roster."""
    text = await _csv_text(request)
    agents = [agent_from_hash(h) for h in await queue.agent_hashes()]
    body = parse_roster(text, agents, plan.tz)
    return (await plan.publish(body, actor=actor_of(principal), text=text)).view()


def _in_range(days: dict[date, int], start: date | None, end: date | None) -> list[date]:
    return sorted(d for d in days if (start is None or d >= start) and (end is None or d <= end))


@router.get("/v1/plan/forecast")
async def forecast_in_force(
    plan: PlanDep, principal: SupervisorDep,
    start: Annotated[date | None, Query(alias="from", description="first local date")] = None,
    end: Annotated[date | None, Query(alias="to", description="last local date")] = None,
) -> Any:
    """The forecast in force per day (the newest version that published that day), rows as in forecast.csv."""
    days = await plan.days_in_force("forecast")
    chosen = _in_range(days, start, end)
    rows = []
    for day in chosen:
        for queue_name, data in sorted((await plan.day_records("forecast", day)).items()):
            part = DayForecast.from_json(data)
            rows += [{"queue": queue_name, "period_start": p, "volume": v, "aht_s": a}
                     for p, v, a in zip(part.period_start, part.volume, part.aht_s, strict=True)]
    return {"days": {d.isoformat(): days[d] for d in chosen}, "rows": rows}


@router.get("/v1/plan/roster")
async def roster_in_force(
    plan: PlanDep, principal: SupervisorDep,
    start: Annotated[date | None, Query(alias="from", description="first local date")] = None,
    end: Annotated[date | None, Query(alias="to", description="last local date")] = None,
) -> Any:
    """The roster in force per day (the newest version that published that day), rows as in roster.csv."""
    days = await plan.days_in_force("roster")
    chosen = _in_range(days, start, end)
    rosters = await plan.roster_days(chosen)
    rows = [shift_row(s) for day in chosen for _, shifts in sorted(rosters.get(day, {}).items()) for s in shifts]
    return {"days": {d.isoformat(): days[d] for d in chosen}, "rows": rows}


@router.get("/v1/plan/{kind}/versions")
async def plan_versions(kind: str, plan: PlanDep, principal: SupervisorDep) -> Any:
    """Every published version, newest first, and the days each still holds in force."""
    return await plan.versions(kind)


@router.get("/v1/agents/{agent_id}/schedule")
async def agent_schedule(
    agent_id: str, plan: PlanDep, principal: PrincipalDep,
    day: Annotated[date | None, Query(alias="date", description="local date; default today")] = None,
) -> Any:
    """The agent's published shifts starting on ``date``, with breaks and skill plan."""
    acting_agent(principal, agent_id)
    require_role(principal, "agent", "supervisor")
    day = day or plan.local_day(plan.now())
    days = await plan.days_in_force("roster")
    records = await plan.day_records("roster", day, [agent_id]) if day in days else {}
    shifts = [shift_from_json(agent_id, s) for s in records.get(agent_id, [])]
    return {
        "agent_id": agent_id, "date": day.isoformat(), "version": days.get(day),
        "shifts": [
            {"start": s.start.isoformat(), "end": s.end.isoformat(),
             "breaks": [{"start": b.start.isoformat(), "end": b.end.isoformat()} for b in s.breaks],
             "skills": [{"skill": b.skill, "start": b.start.isoformat(), "end": b.end.isoformat()}
                        for b in s.skill_plan]}
            for s in shifts
        ],
    }
