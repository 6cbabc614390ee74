"""The plan against the floor (supervisors): ``GET /v1/adherence`` and ``GET /v1/intraday``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.live.adherence import adherence_board
from api.live.intraday import Targets, intraday_view
from api.service.deps import QueueDep, SupervisorDep
from api.service.routes.plan import PlanDep

router = APIRouter(prefix="/v1", tags=["plan"])


@router.get("/adherence")
async def adherence(queue: QueueDep, plan: PlanDep, principal: SupervisorDep) -> Any:
    """Each agent's scheduled state (work, break, off) against its live status (available, busy, break,
    offline); empty when no roster is published for today."""
    return [row.view() for row in await adherence_board(queue, plan, plan.now())]


@router.get("/intraday")
async def intraday(
    request: Request, queue: QueueDep, plan: PlanDep, principal: SupervisorDep,
    queue_name: Annotated[str, Query(alias="queue", min_length=1, description="queue (skill)")],
    day: Annotated[date | None, Query(alias="date", description="local date; default today")] = None,
) -> Any:
    """Per period: forecast, actual, re-forecast, required, scheduled and available agents."""
    settings = request.app.state.settings
    now = plan.now()
    targets = Targets(settings.service_level_target, settings.answer_within_s)
    return await intraday_view(queue, plan, queue_name, day or plan.local_day(now), now, targets)
