"""Live A/B test of routing policies: ``PUT /v1/abtest`` starts one (409 while another runs),
``GET /v1/abtest`` reports it, ``DELETE /v1/abtest`` ends it (and returns the final report).

With no experiment running, or with the retrospective parameters (salt, from, to, policies), GET is
the retrospective split report over the whole audit trail (``scorecards.get_abtest``), as before.
Mounted under /v1 with supervisor auth by the app factory, ahead of the scorecards router."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.live.abtest import experiment_report
from api.service.deps import QueueDep
from api.service.routes.scorecards import get_abtest as retrospective_report
from api.store.experiments import ExperimentStore
from api.store.queue import LiveQueue
from dispatcher.abtest import Experiment

router = APIRouter(tags=["abtest"])


class ExperimentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    policy_a: dict[str, Any] | str = Field(description="a policy (as policy.toml's keys) or live/greedy/longest-idle")
    policy_b: dict[str, Any] | str
    share_b: float = Field(default=0.5, ge=0.0, le=1.0)
    unit: Literal["task", "agent"] = "task"


async def _report(queue: LiveQueue, experiment: Experiment) -> dict[str, Any]:
    events = await queue.all_audit_events()
    return await run_in_threadpool(experiment_report, events, experiment, queue.policy)


@router.put("/abtest", status_code=201)
async def start_experiment(body: ExperimentRequest, queue: QueueDep) -> dict[str, Any]:
    experiment = Experiment.from_dict({**body.model_dump(), "started_ms": queue.now_ms()})
    await ExperimentStore(queue).start(experiment)
    return experiment.to_dict()


@router.get("/abtest")
async def experiment_status(
    queue: QueueDep,
    salt: Annotated[str | None, Query(description="retrospective: experiment salt used by the split")] = None,
    share_b: Annotated[float, Query(ge=0, le=1)] = 0.5,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Annotated[str | None, Query()] = None,
    policies: Annotated[str | None, Query(description="retrospective: A,B policy names in the log")] = None,
) -> dict[str, Any]:
    experiment = await ExperimentStore(queue).active()
    if experiment is None or any(v is not None for v in (salt, from_, to, policies)):
        return await retrospective_report(queue, salt or "", share_b, from_, to, policies)
    return await _report(queue, experiment)


@router.get("/abtest/current")
async def current_experiment(queue: QueueDep) -> dict[str, Any]:
    """The running experiment's report (as ``GET /abtest``), or ``{"running": false}``: what the dashboard polls."""
    experiment = await ExperimentStore(queue).active()
    if experiment is None:
        return {"running": False}
    return {"running": True, **await _report(queue, experiment)}


@router.delete("/abtest")
async def end_experiment(queue: QueueDep) -> dict[str, Any]:
    experiment = await ExperimentStore(queue).end()
    return {**await _report(queue, experiment), "ended": True}
