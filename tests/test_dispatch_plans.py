"""The dispatch loop also raises overdue improvement-plan actions to their owners, once each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from api.live.dispatch import Dispatcher
from api.store.perf import PerfStore
from api.store.queue import LiveQueue
from dispatcher.targets import Action, ImprovementPlan, Target


def test_dispatch_tick_alerts_the_owner_of_an_overdue_action_once(redis_url: str, redis_client: object) -> None:
    async def scenario() -> tuple[list[str], list[str], int]:
        queue = LiveQueue.from_url(redis_url, prefix="plans")
        store = PerfStore(queue.redis, key_prefix="plans")
        past, future = datetime.now(UTC) - timedelta(days=2), datetime.now(UTC) + timedelta(days=5)
        await store.create_target(Target(id="t1", kpi="sla", level="queue", scope="billing", value=0.8,
                                         owner="lead-b", deadline=future))
        await store.create_plan(ImprovementPlan(
            id="p1", target_id="t1", title="coach billing", owner="lead-b",
            actions=(Action(id="x1", description="call review", owner="coach-c", due=past),
                     Action(id="x2", description="refresher", owner="coach-d", due=future)),
        ))
        loop = Dispatcher(queue, plans_every_s=0.0)
        await loop.tick()
        first = [a["owner"] for a in await store.list_alerts()]
        await loop.tick()
        second = [a["owner"] for a in await store.list_alerts()]
        await queue.close()
        return first, second, len(second)

    first, second, count = asyncio.run(scenario())
    assert first == ["coach-c"]
    assert second == first and count == 1
