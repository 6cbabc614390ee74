"""GET /v1/kpis?from=&to=&queue=: KPIs computed from the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.live.kpis import compute_kpis
from api.service.deps import QueueDep, SupervisorDep
from api.service.schemas import EARLIEST, LATEST
from api.store.queue import iso_from_ms, ms_from_datetime
from dispatcher.errors import InvalidInput

router = APIRouter(prefix="/v1/kpis", tags=["boards"])



@router.get("")
async def kpis(
    queue: QueueDep, principal: SupervisorDep,
    from_: Annotated[datetime | None, Query(alias="from", description="window start (default: 24 h ago)")] = None,
    to: Annotated[datetime | None, Query(description="window end (default: now)")] = None,
    skill: Annotated[str | None, Query(alias="queue", description="one skill queue")] = None,
) -> dict[str, Any]:
    now = queue.now_ms()
    for name, value in (("from", from_), ("to", to)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("timestamp must be timezone-aware (give an offset or Z)", field=name)
        if value is not None and not EARLIEST <= value <= LATEST:
            raise InvalidInput("timestamp must lie between 1970-01-01 and 9000-01-01 (UTC)", field=name)
    to_ms = ms_from_datetime(to) if to else now + 1
    from_ms = ms_from_datetime(from_) if from_ else to_ms - 86_400_000
    if from_ms >= to_ms:
        raise InvalidInput("'from' must be before 'to'", field="from")
    events = await queue.all_audit_events()
    body = compute_kpis(events, from_ms=from_ms, to_ms=to_ms, now_ms=now, skill=skill)
    return {"from": iso_from_ms(from_ms), "to": iso_from_ms(to_ms), "queue": skill, **body}
