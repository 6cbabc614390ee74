"""``dispatchwise keys create|list|revoke``: API keys straight in Redis (REDIS_URL or the embedded server)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from api.service.settings import Settings, redis_url_for_settings
from api.store.queue import LiveQueue
from dispatcher.errors import InvalidInput

keys_app = typer.Typer(help="API keys: create (printed once), list, revoke.", no_args_is_help=True)
T = TypeVar("T")


def _with_queue(action: Callable[[LiveQueue], Awaitable[T]]) -> T:
    settings = Settings()

    async def run(url: str) -> T:
        queue = LiveQueue.from_url(url, prefix=settings.key_prefix, max_connections=4)
        try:
            return await action(queue)
        finally:
            await queue.close()

    with redis_url_for_settings(settings) as url:
        return asyncio.run(run(url))


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="integration, agent or supervisor.")],
    agent: Annotated[str | None, typer.Option(help="The agent id an agent key acts for.")] = None,
    expires: Annotated[str | None, typer.Option(help="Lifetime, e.g. 30d, 12h, 90m (default: no expiry).")] = None,
) -> None:
    """Create an API key and print it once (only its SHA-256 is stored); `keys list` shows its id."""
    from api.service.auth import ROLES, create_key, parse_duration

    if role not in ROLES:
        raise InvalidInput(f"--role must be one of {', '.join(ROLES)}, got {role!r}", field="--role")
    expires_in_s = parse_duration(expires, "--expires") if expires else None
    _, key = _with_queue(lambda queue: create_key(queue, role, agent, expires_in_s))
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """Every issued key: id, role, agent, created, expires (the keys themselves are never stored)."""
    rows = _with_queue(lambda queue: queue.list_keys())
    typer.echo("id\trole\tagent\tcreated\texpires")
    for row in rows:
        expires = (row["expires_at"] or "never") + (" (expired)" if row["expired"] else "")
        typer.echo(f"{row['id']}\t{row['role']}\t{row['agent_id'] or '-'}\t{row['created_at']}\t{expires}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `dispatchwise keys list`).")]) -> None:
    """Revoke a key at once, in every running API process."""
    _with_queue(lambda queue: queue.revoke_key(key_id))
    typer.echo(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
