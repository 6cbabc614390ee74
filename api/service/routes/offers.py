"""Offer endpoints: the offered agent accepts or rejects."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.service.auth import acting_agent, actor_of, require_role
from api.service.deps import PrincipalDep, QueueDep
from api.service.schemas import ReasonBody, TaskOut

router = APIRouter(prefix="/v1/offers", tags=["offers"])


@router.post("/{offer_id}/accept", response_model=TaskOut)
async def accept_offer(offer_id: str, queue: QueueDep, principal: PrincipalDep) -> Any:
    require_role(principal, "agent", "supervisor")
    return await queue.accept(offer_id, actor=actor_of(principal), acting_agent=acting_agent(principal))


@router.post("/{offer_id}/reject", response_model=TaskOut)
async def reject_offer(offer_id: str, queue: QueueDep, principal: PrincipalDep,
                       body: ReasonBody | None = None) -> Any:
    require_role(principal, "agent", "supervisor")
    return await queue.reject(offer_id, actor=actor_of(principal), acting_agent=acting_agent(principal),
                              reason=body.reason if body else "")
