"""GET /v1/queues: per skill the depth, counts per quadrant, oldest age and predicted breaches, from a
bounded read; GET /v1/queues/{skill}/tasks: the queue itself, paged."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query

from api.live.boards import queue_board
from api.service.deps import QueueDep, SupervisorDep
from api.service.schemas import TaskOut, check_name

router = APIRouter(prefix="/v1/queues", tags=["boards"])

HEAD_DEFAULT = 1000
"""Tasks per skill (the most pressing first) the summary reads; ``depth`` is always exact (ZCARD)."""


@router.get("")
async def queues_board(
    queue: QueueDep, principal: SupervisorDep,
    head: Annotated[int, Query(ge=1, le=20_000, description="tasks per skill read for the counts")] = HEAD_DEFAULT,
) -> list[dict[str, Any]]:
    """One summary row per skill. ``by_quadrant``, ``oldest_age_s``, ``overdue`` and ``predicted_breach``
    cover the ``sampled`` most pressing tasks; ``sampled < depth`` says a queue was longer than ``head``."""
    heads, depths = await queue.queue_heads(head)
    ids = [task_id for rows in heads.values() for task_id, _ in rows]
    values = await queue.hashes(ids, ("created_ms", "quadrant", "expected_handle_s"))
    fields = dict(zip(ids, values, strict=True))
    servers: dict[str, int] = {}
    for agent in await queue.available_agent_hashes():
        for skill in orjson.loads(agent.get("skills", "{}")):
            servers[skill] = servers.get(skill, 0) + int(agent.get("capacity") or 1)
    rows = queue_board(heads, fields, servers, queue.now_ms())
    for row in rows:
        row["sampled"] = row["depth"]
        row["depth"] = depths.get(row["skill"], row["depth"])
    return rows


@router.get("/{skill}/tasks", response_model=dict[str, Any])
async def queued_tasks(
    skill: str, queue: QueueDep, principal: SupervisorDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The queued tasks of one skill, most pressing (earliest response due) first, a page at a time."""
    check_name(skill, "skill")
    depth, tasks = await queue.queued_page(skill, offset, limit)
    return {"skill": skill, "depth": depth, "offset": offset, "limit": limit,
            "tasks": [TaskOut.model_validate(t).model_dump() for t in tasks],
            "next_offset": offset + limit if offset + limit < depth else None}
