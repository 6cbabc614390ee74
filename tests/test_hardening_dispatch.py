"""Finding 7: a dispatch round reads only the available agents (an index the status scripts keep),
not every agent ever registered. Counted on the Redis server (INFO commandstats)."""

from __future__ import annotations

import asyncio

import redis

from api.live.dispatch import Dispatcher
from api.store.queue import LiveQueue


def hgetall_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_hgetall", {}).get("calls", 0))


def test_a_dispatch_round_reads_the_available_agents_not_the_offline_ones(redis_url: str,
                                                                           redis_client: redis.Redis) -> None:
    async def scenario() -> tuple[int, str]:
        queue = LiveQueue.from_url(redis_url)
        for i in range(300):
            await queue.put_agent(f"off{i}", name="o", skills={"billing": 3}, primary_skills=["billing"], capacity=1)
        await queue.put_agent("on", name="a", skills={"billing": 3}, primary_skills=["billing"], capacity=1)
        await queue.set_status("on", "available", actor="test")
        await queue.set_status("off7", "available", actor="test")
        await queue.set_status("off7", "break", actor="test")  # left again: out of the index
        task, _ = await queue.create_task(external_id="e1", source="crm", skill="billing", urgent=False,
                                          important=False)
        redis_client.config_resetstat()
        report = await Dispatcher(queue).tick()
        calls = hgetall_calls(redis_client)
        assert report.offered == 1
        status = (await queue.get_task(task["id"]))["agent_id"]
        await queue.close()
        return calls, status

    calls, agent = asyncio.run(scenario())
    assert agent == "on"
    assert calls < 20, f"{calls} HGETALLs for one round with 1 available agent among 301"


def test_the_index_follows_misses_and_retirement(redis_url: str, redis_client: redis.Redis) -> None:
    async def scenario() -> list[str]:
        queue = LiveQueue.from_url(redis_url, max_misses=1)
        for agent_id in ("a", "b", "c"):
            await queue.put_agent(agent_id, name=agent_id, skills={"billing": 3}, primary_skills=["billing"],
                                  capacity=1)
            await queue.set_status(agent_id, "available", actor="test")
        await queue.create_task(external_id="e1", source="crm", skill="billing", urgent=False, important=False)
        offer = await queue.pull("a")
        assert offer is not None
        await queue.reject(offer.offer_id, actor="a")  # one miss of one allowed: 'unavailable'
        await queue.retire_agent("b", actor="test")
        ids = sorted(row["id"] for row in await queue.available_agent_hashes())
        redis_client.delete("dw:agents:available")
        assert await queue.rebuild_available_index() == 1  # rebuilt from the hashes alone
        assert sorted(row["id"] for row in await queue.available_agent_hashes()) == ids
        await queue.close()
        return ids

    assert asyncio.run(scenario()) == ["c"]
