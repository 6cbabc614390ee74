"""The FastAPI application: ``create_app(settings)`` wires Redis, auth, routes and the dispatch loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

from api.live.floor import Floor
from api.live.intraday import Targets
from api.live.loops import run_background_loops
from api.service import dashboard
from api.service.auth import Authenticator
from api.service.deps import require_supervisor
from api.service.fastpath import TaskCreateFastPath
from api.service.problems import HANDLED, problem_response
from api.service.routes import (
    abtest,
    agents,
    alerts,
    events,
    floor,
    health,
    keys,
    kpis,
    offers,
    plan,
    queues,
    scorecards,
    simulations,
    staffing,
    tasks,
    webhooks,
)
from api.service.settings import Settings, get_settings
from api.store.embedded_redis import redis_url_for
from api.store.queue import LiveQueue

log = logging.getLogger("dispatchwise.api")

ROUTERS = (tasks, agents, offers, queues, alerts, kpis, events, keys, health, webhooks, plan, floor)
SUPERVISOR_ROUTERS = (staffing, simulations, abtest, scorecards)
"""Mounted under /v1 behind the supervisor role."""


def create_app(settings: Settings | None = None, *, dispatch: bool | None = None) -> FastAPI:
    """Build the app. Redis comes from ``settings.redis_url`` or an embedded server (AOF on)."""
    settings = settings or get_settings()
    run_dispatch = settings.run_dispatch if dispatch is None else dispatch

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync) as url:
            queue = LiveQueue.from_url(
                url, prefix=settings.key_prefix, offer_ttl_s=settings.offer_ttl_s, max_misses=settings.max_misses,
                clock=settings.clock(),
            )
            app.state.queue = queue
            app.state.auth = Authenticator(queue, settings.bootstrap_key)
            recovered = await queue.expire_offers()  # offers that expired while nothing ran
            if recovered:
                log.warning("re-queued %d tasks whose offers expired while the service was down", recovered)
            # long-lived start-up objects leave the collector's view: shorter GC pauses under load
            gc.collect()
            gc.freeze()
            stop = asyncio.Event()
            loop_task = None
            if run_dispatch:
                floor = Floor(queue, timezone=settings.timezone, adherence_threshold_s=settings.adherence_threshold_s,
                              targets=Targets(settings.service_level_target, settings.answer_within_s))
                loop_task = asyncio.create_task(run_background_loops(
                    queue, stop, dispatch_interval_s=settings.dispatch_interval_s,
                    webhook_timeout_s=settings.webhook_timeout_s, floor=floor))
            try:
                yield
            finally:
                stop.set()
                if loop_task is not None:
                    await loop_task
                await queue.close()

    app = FastAPI(
        title="dispatchwise",
        version="0.1.0",
        description="Live task dispatch: tasks in, optimal offers out, SLA alerts, audit trail, KPIs.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    for exc_class in HANDLED:
        app.add_exception_handler(exc_class, problem_response)
    if settings.fast_path:
        app.add_middleware(TaskCreateFastPath)
    for module in ROUTERS:
        app.include_router(module.router)
    for module in SUPERVISOR_ROUTERS:
        app.include_router(module.router, prefix="/v1", dependencies=[Depends(require_supervisor)])
    app.include_router(dashboard.router)
    return app
