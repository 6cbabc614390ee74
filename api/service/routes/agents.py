"""Agent endpoints: profile, status, the board, and /next (long-poll for an offer)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Response

from api.live.pull import pull_next
from api.service.auth import Principal, acting_agent, actor_of, require_role
from api.service.deps import NotifierDep, PrincipalDep, QueueDep, SupervisorDep
from api.service.routes.plan import PlanDep
from api.service.schemas import AgentOut, AgentPut, OfferOut, StatusPut, check_name
from api.store.queue import PullResult, iso_from_ms, task_view
from dispatcher.domain import Agent

router = APIRouter(prefix="/v1/agents", tags=["agents"])

MAX_WAIT_S = 60.0
RECHECK_S = 5.0
"""A waiting long-poll re-tries the pull path at least this often, in case a notification was lost."""
BATCH_RECHECK_S = 0.25
"""... and this often while a dispatch batch is being solved (it may or may not offer this agent a task)."""
NO_OFFER_HEADER = "Dispatchwise-No-Offer"
"""On a 204 from /next: why there is no offer (``PullResult.why``)."""
ONLY_OWN_NEWS = ("busy", "schedule")
"""Reasons new work of the agent's skills cannot change: the long-poll waits for news about the agent."""


@router.get("", response_model=list[AgentOut])
async def agents_board(queue: QueueDep, principal: SupervisorDep) -> Any:
    return await queue.agents_board()


@router.put("/{agent_id}", response_model=AgentOut)
async def put_agent(agent_id: str, body: AgentPut, queue: QueueDep, principal: SupervisorDep) -> Any:
    check_name(agent_id, "agent_id")
    # the domain model validates proficiency 1-5, primary skills among skills, capacity >= 1
    agent = Agent(id=agent_id, name=body.name, skills=body.skills, primary_skills=frozenset(body.primary_skills),
                  capacity=body.capacity, team=body.team, supervisor=body.supervisor)
    return await queue.put_agent(
        agent.id, name=agent.name, skills=dict(agent.skills), primary_skills=sorted(agent.primary_skills),
        capacity=agent.capacity, team=agent.team, supervisor=agent.supervisor,
    )


@router.delete("/{agent_id}", status_code=204, responses={409: {"description": "the agent holds assigned tasks"}})
async def retire_agent(agent_id: str, queue: QueueDep, principal: SupervisorDep) -> Response:
    """Retire an agent: pending offers go back to the queue; skills nothing else refers to disappear."""
    await queue.retire_agent(agent_id, actor=actor_of(principal))
    return Response(status_code=204)


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: str, queue: QueueDep, principal: PrincipalDep) -> Any:
    acting_agent(principal, agent_id)
    _require_agent_or_supervisor(principal)
    return await queue.get_agent(agent_id)


@router.put("/{agent_id}/status", response_model=AgentOut)
async def put_status(agent_id: str, body: StatusPut, queue: QueueDep, principal: PrincipalDep) -> Any:
    acting_agent(principal, agent_id)
    _require_agent_or_supervisor(principal)
    return await queue.set_status(agent_id, body.status, actor=actor_of(principal))


NO_OFFER_DOC: dict[str, Any] = {"description": "no offer came within the wait", "headers": {NO_OFFER_HEADER: {
    "schema": {"type": "string"},
    "description": "why: busy (not available or no free slot), schedule (on a scheduled break), batch (a dispatch "
                   "batch is being solved), guard (no queued task fits before the next break or shift end) or "
                   "empty (no queued task for the agent)"}}}


@router.post("/{agent_id}/next", response_model=OfferOut, responses={204: NO_OFFER_DOC})
async def next_offer(
    agent_id: str, queue: QueueDep, plan: PlanDep, principal: PrincipalDep, notifier: NotifierDep,
    wait: float = Query(default=0.0, ge=0.0, le=MAX_WAIT_S, description="seconds to wait for an offer"),
) -> Any:
    """Holds no Redis connection while it waits: the process's notifier wakes it (api/store/notifier.py)."""
    acting_agent(principal, agent_id)
    _require_agent_or_supervisor(principal)
    deadline = time.monotonic() + wait
    if wait <= 0:
        return _offer_or_204(await pull_next(queue, plan, agent_id))
    async with notifier.waiter(agent_id) as waiter:
        while True:
            result = await pull_next(queue, plan, agent_id)  # a wake after this point is kept by the event
            remaining = deadline - time.monotonic()
            if result.offer is not None or remaining <= 0:
                return _offer_or_204(result)
            # a busy agent or one on a break waits for news about itself; an idle one also for new work
            waiter.watch(result.skills if result.why not in ONLY_OWN_NEWS else ())
            await waiter.wait(min(remaining, BATCH_RECHECK_S if result.why == "batch" else RECHECK_S))


def _offer_or_204(result: PullResult) -> Any:
    offer = result.offer
    if offer is None:
        return Response(status_code=204, headers={NO_OFFER_HEADER: result.why})
    return {"offer_id": offer.offer_id, "task": task_view(offer.task), "expires_at": iso_from_ms(offer.expires_ms)}


def _require_agent_or_supervisor(principal: Principal) -> None:
    require_role(principal, "agent", "supervisor")
