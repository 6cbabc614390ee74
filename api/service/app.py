"""The FastAPI application: ``create_app(settings)`` wires Redis, auth, routes and the dispatch loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from api.live.floor import Floor
from api.live.intraday import Targets
from api.live.loops import run_background_loops
from api.service import dashboard
from api.service.auth import Authenticator
from api.service.bodylimit import BodyLimit
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
from api.service.settings import Settings, get_settings, redis_url_for_settings
from api.store.notifier import Notifier
from api.store.outage import STORE_DOWN_ERRORS, StoreStatus
from api.store.queue import LiveQueue

log = logging.getLogger("dispatchwise.api")

ROUTERS = (tasks, agents, offers, queues, alerts, kpis, events, keys, health, webhooks, plan, floor)
SUPERVISOR_ROUTERS = (staffing, simulations, abtest, scorecards)
"""Mounted under /v1 behind the supervisor role."""


async def store_down_response(request: Request, exc: Exception) -> JSONResponse:
    """Redis down, loading or full: 503 with Retry-After, one log line per outage (not per request)."""
    return await problem_response(request, request.app.state.store_status.failed(exc))


def create_app(settings: Settings | None = None, *, dispatch: bool | None = None) -> FastAPI:
    """Build the app. Redis comes from ``settings.redis_url`` or an embedded server (AOF on)."""
    settings = settings or get_settings()
    run_dispatch = settings.run_dispatch if dispatch is None else dispatch

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with redis_url_for_settings(settings) as url:
            queue = LiveQueue.from_url(
                url, prefix=settings.key_prefix, offer_ttl_s=settings.offer_ttl_s, max_misses=settings.max_misses,
                max_connections=settings.redis_max_connections, max_payload_bytes=settings.max_payload_bytes,
                allow_new_skills=settings.allow_new_skills,
                clock=settings.clock(),
            )
            app.state.queue = queue
            app.state.auth = auth = Authenticator(queue, settings.bootstrap_key)
            app.state.store_status = status = StoreStatus()
            app.state.notifier = notifier = Notifier.for_queue(
                queue, per_agent=settings.longpoll_per_agent, total=settings.longpoll_max,
                status=status, on_key_revoked=auth.forget,
            )
            await notifier.start()
            await queue.rebuild_available_index()  # data from before the index, or edited by hand
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
                              targets=Targets(settings.service_level_target, settings.answer_within_s),
                              clock_speed=settings.sim_clock_speed)
                loop_task = asyncio.create_task(run_background_loops(
                    queue, stop, dispatch_interval_s=settings.dispatch_interval_s,
                    webhook_timeout_s=settings.webhook_timeout_s, floor=floor))
            try:
                yield
            finally:
                stop.set()
                if loop_task is not None:
                    await loop_task
                await notifier.stop()
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
    for down_class in STORE_DOWN_ERRORS:
        app.add_exception_handler(down_class, store_down_response)
    if settings.fast_path:
        app.add_middleware(TaskCreateFastPath)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # outermost: before any body is read
    for module in ROUTERS:
        app.include_router(module.router)
    for module in SUPERVISOR_ROUTERS:
        app.include_router(module.router, prefix="/v1", dependencies=[Depends(require_supervisor)])
    app.include_router(dashboard.router)
    return app
