"""``dispatchwise doctor``: effective settings, the Redis reached, and whether persistence is on."""

from __future__ import annotations

import asyncio
import platform

import typer
from rich.console import Console
from rich.table import Table

from api.service.settings import Settings
from api.store.embedded_redis import redis_url_for
from api.store.queue import LiveQueue


def doctor() -> None:
    """Print the effective settings, the Redis version reached and whether persistence is on."""
    settings = Settings()
    console = Console()
    table = Table(title="dispatchwise settings", show_header=True)
    table.add_column("setting")
    table.add_column("value")
    for name, value in settings.model_dump().items():
        shown = "(set)" if name == "bootstrap_key" and value else value
        table.add_row(name, str(shown))
    table.add_row("python", platform.python_version())
    console.print(table)
    mode = "REDIS_URL" if settings.redis_url else f"embedded (data dir {settings.data_dir})"
    with redis_url_for(settings.redis_url, settings.data_dir, settings.appendfsync) as url:
        info = asyncio.run(_server_info(url))
        persistence, fsync = info["appendonly"], info["appendfsync"]
    console.print(f"redis: {mode} at {url}")
    console.print(f"redis version: {info.get('redis_version')}")
    on = persistence == "yes"
    console.print(
        f"persistence (AOF): {'[green]on[/green]' if on else '[yellow]off[/yellow]'} (appendfsync {fsync})"
    )


async def _server_info(url: str) -> dict[str, str]:
    queue = LiveQueue.from_url(url)
    try:
        return await queue.server_info()
    finally:
        await queue.close()


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
