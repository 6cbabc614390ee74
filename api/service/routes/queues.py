"""GET /v1/queues: depth per skill and quadrant, oldest age, predicted breach."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter

from api.live.boards import queue_board
from api.service.deps import QueueDep, SupervisorDep

router = APIRouter(prefix="/v1/queues", tags=["boards"])


@router.get("")
async def queues_board(queue: QueueDep, principal: SupervisorDep) -> list[dict[str, Any]]:
    queued = await queue.queue_rows()
    ids = [task_id for rows in queued.values() for task_id, _ in rows]
    values = await queue.hashes(ids, ("created_ms", "quadrant", "expected_handle_s"))
    fields = dict(zip(ids, values, strict=True))
    servers: dict[str, int] = {}
    for agent in await queue.agent_hashes():
        if agent.get("status") != "available":
            continue
        for skill in orjson.loads(agent.get("skills", "{}")):
            servers[skill] = servers.get(skill, 0) + int(agent.get("capacity") or 1)
    return queue_board(queued, fields, servers, queue.now_ms())
