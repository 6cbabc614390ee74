"""POST /v1/keys: a supervisor creates an API key (shown once, stored hashed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.service.auth import create_key
from api.service.deps import QueueDep, SupervisorDep
from api.service.schemas import KeyCreate, KeyOut

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyOut)
async def new_key(body: KeyCreate, queue: QueueDep, principal: SupervisorDep) -> Any:
    key = await create_key(queue, body.role, body.agent_id)
    return {"key": key, "role": body.role, "agent_id": body.agent_id}
