"""GET /v1/alerts: SLA warnings, alerts and escalations, newest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.service.deps import QueueDep, SupervisorDep
from api.service.schemas import AlertOut

router = APIRouter(prefix="/v1/alerts", tags=["boards"])


@router.get("", response_model=list[AlertOut])
async def list_alerts(
    queue: QueueDep, principal: SupervisorDep,
    limit: int = Query(default=200, ge=1, le=5000),
) -> Any:
    return await queue.alerts(limit=limit)
