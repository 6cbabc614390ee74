"""Finding 1: long-polls hold no Redis connection while they wait, and are capped per agent.

Runs the app in-process (its lifespan and httpx's ASGI transport) against the session's real Redis;
connections are counted on the Redis server (CLIENT LIST), not taken from the code under test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from api.service.app import create_app
from api.service.settings import Settings

pytestmark = pytest.mark.anyio
BOOT = "boot-supervisor-key"
SUP = {"Authorization": f"Bearer {BOOT}"}


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


def connections(client: redis.Redis) -> int:
    return len(client.client_list())


@pytest.fixture()
async def api(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path, longpoll_per_agent=2,
                        longpoll_max=1000, allow_new_skills=True,
                        redis_max_connections=8)
    app = create_app(settings, dispatch=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            yield client, app


async def add_agent(client: httpx.AsyncClient, agent_id: str, skill: str, status: str) -> None:
    r = await client.put(f"/v1/agents/{agent_id}", json={"name": agent_id, "skills": {skill: 3},
                                                         "primary_skills": [skill]}, headers=SUP)
    assert r.status_code == 200, r.text
    r = await client.put(f"/v1/agents/{agent_id}/status", json={"status": status}, headers=SUP)
    assert r.status_code == 200, r.text


async def wait_until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.02)


async def test_sixty_waiting_long_polls_hold_no_redis_connections(api: Any, redis_client: redis.Redis) -> None:
    client, app = api
    for i in range(30):
        await add_agent(client, f"idle{i}", "sales", "break")
    baseline = connections(redis_client)
    polls = [asyncio.create_task(client.post(f"/v1/agents/idle{i % 30}/next", params={"wait": 4}, headers=SUP))
             for i in range(60)]
    # wait until all 60 are parked: registered with the notifier, or (old code) blocked on a connection each
    await wait_until(lambda: getattr(getattr(app.state, "notifier", None), "waiting", 0) == 60
                     or connections(redis_client) >= baseline + 60)
    while_waiting = connections(redis_client)
    created = await client.post("/v1/tasks", json={"external_id": "e1", "source": "s", "skill": "billing"},
                                headers=SUP)
    assert created.status_code == 201, created.text
    statuses = [r.status_code for r in await asyncio.gather(*polls)]
    assert statuses == [204] * 60
    assert while_waiting - baseline <= 8, f"{while_waiting - baseline} extra Redis connections for 60 long-polls"


async def test_third_long_poll_of_one_agent_gets_429_with_retry_after(api: Any) -> None:
    client, _ = api
    await add_agent(client, "a2", "sales", "break")
    polls = [client.post("/v1/agents/a2/next", params={"wait": 2}, headers=SUP) for _ in range(3)]
    replies = await asyncio.gather(*polls)
    assert sorted(r.status_code for r in replies) == [204, 204, 429]
    refused = next(r for r in replies if r.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["field"] == "wait"


async def test_waiting_long_poll_gets_the_offer_made_while_it_waits(api: Any) -> None:
    client, app = api
    await add_agent(client, "a1", "billing", "available")
    poll = asyncio.create_task(client.post("/v1/agents/a1/next", params={"wait": 20}, headers=SUP))
    await wait_until(lambda: getattr(getattr(app.state, "notifier", None), "waiting", 0) == 1)
    started = time.monotonic()
    created = await client.post("/v1/tasks", json={"external_id": "e1", "source": "s", "skill": "billing"},
                                headers=SUP)
    assert created.status_code == 201
    reply = await poll
    assert reply.status_code == 200, reply.text
    assert reply.json()["task"]["id"] == created.json()["id"]
    assert time.monotonic() - started < 10  # woken by the notification, long before the 20 s wait ends
