"""API keys (supervisor): create (shown once, stored hashed), list, read and revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.service.auth import Authenticator, create_key, parse_duration
from api.service.deps import QueueDep, SupervisorDep
from api.service.schemas import KeyCreate, KeyInfo, KeyOut

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyOut)
async def new_key(body: KeyCreate, queue: QueueDep, principal: SupervisorDep) -> Any:
    expires_in_s = parse_duration(body.expires) if body.expires else None
    key_id, key = await create_key(queue, body.role, body.agent_id, expires_in_s)
    return {"id": key_id, "key": key, "role": body.role, "agent_id": body.agent_id,
            **{k: v for k, v in (await queue.get_key(key_id)).items() if k in ("created_at", "expires_at")}}


@router.get("", response_model=list[KeyInfo])
async def list_keys(queue: QueueDep, principal: SupervisorDep) -> Any:
    """Every issued key (never the key itself); the bootstrap key from the environment is not listed."""
    return await queue.list_keys()


@router.get("/{key_id}", response_model=KeyInfo)
async def get_key(key_id: str, queue: QueueDep, principal: SupervisorDep) -> Any:
    return await queue.get_key(key_id)


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: str, request: Request, queue: QueueDep, principal: SupervisorDep) -> Response:
    """Revoke at once: every API process drops the key from its cache (published through Redis)."""
    digest = await queue.revoke_key(key_id)
    auth: Authenticator = request.app.state.auth
    auth.forget(digest)
    return Response(status_code=204)
