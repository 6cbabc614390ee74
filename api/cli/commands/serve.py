"""``dispatchwise serve`` and ``dispatchwise worker``."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
from typing import Annotated

import typer

from api.ports import free_port
from api.service.settings import Settings, get_settings, redis_url_for_settings


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
    with redis_url_for_settings(settings) as url:
        # every worker process reads these, so they all share this one Redis
        os.environ["REDIS_URL"] = url
        if no_dispatch:
            os.environ["DISPATCHWISE_RUN_DISPATCH"] = "0"
        get_settings.cache_clear()
        loop, http = _fast_loop()
        typer.echo(f"dispatchwise API on http://{host}:{port} (redis {redacted(url)}, {workers} worker(s), "
                   f"{loop}/{http})")
        # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; with these handlers that becomes
        # an exception, so the ``with`` above unwinds and stops the embedded Redis (the default SIGTERM
        # action would kill the process on the spot and leave redis-server running)
        signal.signal(signal.SIGTERM, _exit_on_signal)
        signal.signal(signal.SIGINT, _exit_on_signal)
        uvicorn.run(
            "api.service.app:create_app", factory=True, host=host, port=port, workers=workers, loop=loop, http=http,
            log_level="warning", access_log=False,
        )


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def redacted(url: str) -> str:
    """The URL without its password, for printing."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, _ = head.partition("://")
    return f"{scheme}://***@{tail}"


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

    with redis_url_for_settings(settings) as url:
        typer.echo(f"dispatchwise worker on redis {redacted(url)}")
        asyncio.run(run(url))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
