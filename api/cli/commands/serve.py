"""``dispatchwise serve``, ``dispatchwise worker`` and ``dispatchwise keys create``."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
from typing import Annotated

import typer

from api.ports import free_port
from api.service.settings import Settings, get_settings
from api.store.embedded_redis import redis_url_for
from dispatcher.errors import InvalidInput

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


def _fast_loop() -> tuple[str, str]:
    """uvloop + httptools when installed, else asyncio + h11."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000; 0: any free port).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API worker processes.")] = 1,
    no_dispatch: Annotated[bool, typer.Option("--no-dispatch", help="Run no dispatch loop in the API.")] = False,
) -> None:
    """Run the HTTP API (with a dispatch loop) on embedded Redis unless REDIS_URL is set."""
    import uvicorn

    settings = Settings()
    host = host or settings.host
    port = settings.port if port is None else port
    if port == 0:  # pick it here, so the address printed below is one you can open
        port = free_port()
    with redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync) as url:
        # every worker process reads these, so they all share this one Redis
        os.environ["REDIS_URL"] = url
        if no_dispatch:
            os.environ["DISPATCHWISE_RUN_DISPATCH"] = "0"
        get_settings.cache_clear()
        loop, http = _fast_loop()
        typer.echo(f"dispatchwise API on http://{host}:{port} (redis {url}, {workers} worker(s), {loop}/{http})")
        uvicorn.run(
            "api.service.app:create_app", factory=True, host=host, port=port, workers=workers, loop=loop, http=http,
            log_level="warning", access_log=False,
        )


def worker() -> None:
    """Run the dispatch loop and webhook delivery only (no HTTP); several workers take turns through leases in Redis."""
    from api.live.loops import run_background_loops
    from api.store.queue import LiveQueue

    settings = Settings()

    async def run(url: str) -> None:
        queue = LiveQueue.from_url(
            url, prefix=settings.key_prefix, offer_ttl_s=settings.offer_ttl_s, max_misses=settings.max_misses
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_background_loops(queue, stop, dispatch_interval_s=settings.dispatch_interval_s,
                                       webhook_timeout_s=settings.webhook_timeout_s)
        finally:
            await queue.close()

    with redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync) as url:
        typer.echo(f"dispatchwise worker on redis {url}")
        asyncio.run(run(url))


def keys_create(
    role: Annotated[str, typer.Option(help="integration, agent or supervisor.")],
    agent: Annotated[str | None, typer.Option(help="The agent id an agent key acts for.")] = None,
) -> None:
    """Create an API key and print it once (only its SHA-256 is stored)."""
    from api.service.auth import ROLES, create_key
    from api.store.queue import LiveQueue

    if role not in ROLES:
        raise InvalidInput(f"--role must be one of {', '.join(ROLES)}, got {role!r}", field="--role")
    settings = Settings()

    async def run(url: str) -> str:
        queue = LiveQueue.from_url(url, prefix=settings.key_prefix)
        try:
            return await create_key(queue, role, agent)
        finally:
            await queue.close()

    with redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync) as url:
        key = asyncio.run(run(url))
    typer.echo(key)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    keys_app.command("create")(keys_create)
    app.add_typer(keys_app, name="keys")
