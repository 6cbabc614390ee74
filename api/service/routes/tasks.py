"""Task endpoints: create (idempotent per source + external_id), read, history and transitions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.service.auth import acting_agent, actor_of
from api.service.deps import IntegrationDep, PrincipalDep, QueueDep
from api.service.schemas import (
    CompleteBody,
    HistoryEvent,
    ReasonBody,
    SatisfactionBody,
    TaskCreate,
    TaskOut,
    TaskPatch,
    TransferBody,
)
from api.store.queue import task_view
from dispatcher.errors import Forbidden

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.post("", status_code=201, response_model=TaskOut,
             responses={200: {"model": TaskOut, "description": "already created: the same task"}})
async def create_task(body: TaskCreate, queue: QueueDep, principal: IntegrationDep, response: Response) -> Any:
    task, created = await queue.create_task(
        external_id=body.external_id, source=body.source, skill=body.skill, urgent=body.urgent,
        important=body.important, deadline=body.due_at, expected_handle_s=body.expected_handle_s,
        payload=body.payload, customer_id=body.customer_id,
    )
    if not created:
        response.status_code = 200
    return task


@router.get("/{task_id}", response_model=TaskOut)
async def get_task(task_id: str, queue: QueueDep, principal: PrincipalDep) -> Any:
    task = await queue.get_task(task_id)
    if principal.role == "agent" and task["agent_id"] != principal.agent_id:
        raise Forbidden(f"task {task_id} is not held by agent {principal.agent_id}", field="task_id")
    return task


@router.get("/{task_id}/history", response_model=list[HistoryEvent])
async def task_history(task_id: str, queue: QueueDep, principal: IntegrationDep) -> Any:
    return await queue.history(task_id)


@router.patch("/{task_id}", response_model=TaskOut)
async def patch_task(task_id: str, body: TaskPatch, queue: QueueDep, principal: IntegrationDep) -> Any:
    return await queue.reprioritize(
        task_id, actor=actor_of(principal), urgent=body.urgent, important=body.important, deadline=body.due_at
    )


@router.post("/{task_id}/cancel", response_model=TaskOut)
async def cancel_task(task_id: str, queue: QueueDep, principal: IntegrationDep,
                      body: ReasonBody | None = None) -> Any:
    return await queue.cancel(task_id, actor=actor_of(principal), reason=body.reason if body else "")


@router.post("/{task_id}/complete", response_model=TaskOut)
async def complete_task(task_id: str, queue: QueueDep, principal: PrincipalDep,
                        body: CompleteBody | None = None) -> Any:
    outcome = body.model_dump(exclude_none=True) if body else {}
    return await queue.complete(
        task_id, actor=actor_of(principal), acting_agent=acting_agent(principal), outcome=outcome
    )


@router.post("/{task_id}/transfer", response_model=TaskOut)
async def transfer_task(task_id: str, queue: QueueDep, principal: PrincipalDep,
                        body: TransferBody | None = None) -> Any:
    body = body or TransferBody()
    if body.agent_id is not None:
        offer = await queue.transfer_to_agent(task_id, body.agent_id, actor=actor_of(principal),
                                              acting_agent=acting_agent(principal), reason=body.reason)
        return task_view(offer.task)
    return await queue.transfer(
        task_id, actor=actor_of(principal), acting_agent=acting_agent(principal), skill=body.skill,
        reason=body.reason,
    )


@router.post("/{task_id}/escalate", response_model=TaskOut)
async def escalate_task(task_id: str, queue: QueueDep, principal: PrincipalDep,
                        body: ReasonBody | None = None) -> Any:
    return await queue.reprioritize(
        task_id, actor=actor_of(principal), acting_agent=acting_agent(principal), escalate=True,
        reason=body.reason if body else "",
    )


@router.post("/{task_id}/satisfaction", status_code=204)
async def task_satisfaction(task_id: str, body: SatisfactionBody, queue: QueueDep,
                            principal: IntegrationDep) -> Response:
    await queue.note(task_id, event="satisfaction", actor=actor_of(principal),
                     data={"score": body.score, "comment": body.comment}, field="satisfaction",
                     value=str(body.score))
    return Response(status_code=204)
