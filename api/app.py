"""The FastAPI application: ``create_app(settings)`` wires Redis, auth, routes and the dispatch loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import dashboard
from api.auth import Authenticator
from api.deps import require_supervisor
from api.dispatch import Dispatcher
from api.embedded_redis import redis_url_for
from api.fastpath import TaskCreateFastPath, validation_problem
from api.queue import LiveQueue, Unauthorized
from api.routes import agents, alerts, events, health, keys, kpis, offers, queues, tasks
from api.settings import Settings, get_settings
from dispatcher.errors import DispatchwiseError

log = logging.getLogger("dispatchwise.api")

OPTIONAL_ROUTERS = ("api.routes.staffing", "api.routes.simulations", "api.routes.scorecards")


def _problem(status: int, error: str, message: str, **extra: Any) -> JSONResponse:
    body = {"error": error, "detail": message, "message": message, **extra}
    return JSONResponse(body, status_code=status)


async def _dispatchwise_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DispatchwiseError)
    status = exc.status_code if exc.status_code >= 400 else 400
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse(exc.to_dict(), status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_problem(list(exc.errors())), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
    return _problem(exc.status_code, name, str(exc.detail))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _problem(500, "InternalError", "internal error; see the server log")


def create_app(settings: Settings | None = None, *, dispatch: bool | None = None) -> FastAPI:
    """Build the app. Redis comes from ``settings.redis_url`` or an embedded server (AOF on)."""
    settings = settings or get_settings()
    run_dispatch = settings.run_dispatch if dispatch is None else dispatch

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync) as url:
            queue = LiveQueue.from_url(
                url, prefix=settings.key_prefix, offer_ttl_s=settings.offer_ttl_s, max_misses=settings.max_misses
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
                loop_task = asyncio.create_task(Dispatcher(queue, interval_s=settings.dispatch_interval_s).run(stop))
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
    app.add_exception_handler(DispatchwiseError, _dispatchwise_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    if settings.fast_path:
        app.add_middleware(TaskCreateFastPath)
    for module in (tasks, agents, offers, queues, alerts, kpis, events, keys, health):
        app.include_router(module.router)
    for name in OPTIONAL_ROUTERS:
        try:
            module = __import__(name, fromlist=["router"])
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(module.router, prefix="/v1", dependencies=[Depends(require_supervisor)])
    app.include_router(dashboard.router)
    return app
