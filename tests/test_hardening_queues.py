"""Finding 10: /v1/queues reads a bounded head of each queue (depth stays exact) and the queue itself
is paged. Reads are counted on the Redis server (INFO commandstats)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from api.service.app import create_app
from api.service.settings import Settings
from api.store.queue import LiveQueue

BOOT = "boot-supervisor-key"
SUP = {"Authorization": f"Bearer {BOOT}"}
TASKS = 3000


@pytest.fixture()
def client(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[TestClient]:
    async def fill() -> None:
        queue = LiveQueue.from_url(redis_url)
        await queue.put_agent("ann", name="Ann", skills={"billing": 3}, primary_skills=["billing"], capacity=2)
        await queue.set_status("ann", "available", actor="test")
        for i in range(TASKS):
            await queue.create_task(external_id=f"e{i}", source="crm", skill="billing", urgent=i % 2 == 0,
                                    important=i % 3 == 0)
        await queue.close()

    asyncio.run(fill())
    with TestClient(create_app(Settings(redis_url=redis_url, bootstrap_key=BOOT, data_dir=tmp_path),
                               dispatch=False)) as tc:
        yield tc


def task_reads(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("hmget", "hgetall", "hget"))


def test_queue_summary_reads_a_bounded_head_and_keeps_depth_exact(client: TestClient,
                                                                    redis_client: redis.Redis) -> None:
    redis_client.config_resetstat()
    rows = client.get("/v1/queues", params={"head": 500}, headers=SUP).json()
    reads = task_reads(redis_client)
    billing = rows[0]
    assert (billing["skill"], billing["depth"], billing["sampled"]) == ("billing", TASKS, 500)
    assert sum(billing["by_quadrant"].values()) == 500
    assert billing["available_slots"] == 2
    assert reads <= 500 + 10, f"{reads} task reads for a summary of 500"


def test_queue_tasks_come_in_pages_most_pressing_first(client: TestClient) -> None:
    first = client.get("/v1/queues/billing/tasks", params={"limit": 50}, headers=SUP).json()
    assert first["depth"] == TASKS and len(first["tasks"]) == 50 and first["next_offset"] == 50
    due = [t["due_at"] for t in first["tasks"]]
    assert due == sorted(due)
    last = client.get("/v1/queues/billing/tasks", params={"offset": TASKS - 10, "limit": 50}, headers=SUP).json()
    assert len(last["tasks"]) == 10 and last["next_offset"] is None
    assert client.get("/v1/queues/bad%0Aname/tasks", headers=SUP).status_code == 422
