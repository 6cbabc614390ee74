"""One routing policy everywhere: the live service (real Redis, LiveQueue + Dispatcher on an injected
clock) and the what-if simulator, driven through the same arrivals, breaks and completions, make the
same assignments at the same moments."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from api.live.dispatch import Dispatcher
from api.store.queue import LiveQueue
from dispatcher.domain import Interval, Shift
from dispatcher.policy import GREEDY, LIVE, LONGEST_IDLE, RoutingPolicy
from dispatcher.simulation.arrivals import Tasks
from dispatcher.simulation.engine import simulate
from dispatcher.simulation.model import SimulationConfig, Staffing

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00Z, on every batch grid
QUEUES = ("billing", "tech")
AGENTS = {  # id: (proficiency per queue, primary per queue)
    "a1": ((4, 0), (True, False)),
    "a2": ((2, 3), (False, True)),
    "a3": ((0, 5), (False, True)),
    "a4": ((3, 1), (True, False)),
}
HORIZON_S = 3600.0
BREAK = ("a2", 200.0, 260.0)


def instance(seed: int, n: int = 36) -> tuple[Tasks, np.ndarray]:
    """Arrivals on whole milliseconds (the live clock's resolution), whole-second handle times."""
    rng = np.random.default_rng(seed)
    arrival_ms = np.sort(rng.choice(np.arange(1, 400_000), size=n, replace=False))
    tasks = Tasks(
        arrival_s=arrival_ms / 1000.0,
        queue=rng.integers(0, len(QUEUES), n).astype(np.int64),
        urgent=rng.random(n) < 0.4,
        important=rng.random(n) < 0.5,
        handle_s=rng.integers(15, 70, n).astype(np.float64),
        patience_s=np.full(n, np.inf),
    )
    expected = rng.integers(20, 90, n).astype(np.float64)
    return tasks, expected


def staffing() -> Staffing:
    ids = tuple(AGENTS)
    duty = tuple(((0.0, BREAK[1]), (BREAK[2], HORIZON_S)) if a == BREAK[0] else ((0.0, HORIZON_S),) for a in ids)
    return Staffing(
        agent_ids=ids,
        proficiency=np.array([AGENTS[a][0] for a in ids], dtype=np.int64),
        primary=np.array([AGENTS[a][1] for a in ids], dtype=bool),
        duty=duty,
    )


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0_MS / 1000, tz=UTC) + timedelta(seconds=seconds)


def simulated(policy: RoutingPolicy, tasks: Tasks, expected: np.ndarray) -> list[tuple[int, str, float]]:
    cfg = SimulationConfig(policy=policy, proficiency_handle_factor=(1.0, 1.0, 1.0, 1.0, 1.0))
    log = simulate(tasks, staffing(), cfg, queues=QUEUES, horizon_s=HORIZON_S, expected_handle_s=expected)
    assert not np.isnan(log.start_s).any(), "every task is served"
    return [(i, log.agent_ids[a], round(float(s), 3)) for i, (a, s) in enumerate(zip(log.agent, log.start_s,
                                                                                      strict=True))]


async def live(redis_url: str, policy: RoutingPolicy, tasks: Tasks, expected: np.ndarray,
               prefix: str) -> list[tuple[int, str, float]]:
    """Replay the same day through the live queue: create, break, accept every offer at once and
    complete it after its handle time; the dispatcher ticks after every event and at its grid times."""
    now_ms = [T0_MS]
    queue = LiveQueue.from_url(redis_url, prefix=prefix, clock=lambda: (now_ms[0] + 0.5) / 1000)
    shifts = {a: Shift(a, at(0), at(HORIZON_S), breaks=(Interval(at(BREAK[1]), at(BREAK[2])),) if a == BREAK[0]
                       else ()) for a in AGENTS}
    loop = Dispatcher(queue, policy=policy, shifts=shifts, owner="same", sla_every_s=1e9, plans_every_s=1e9,
                      batch_at_start=False)
    for agent_id, (levels, primary) in AGENTS.items():
        await queue.put_agent(agent_id, name=agent_id, capacity=1,
                              skills={q: lv for q, lv in zip(QUEUES, levels, strict=True) if lv},
                              primary_skills=[q for q, p in zip(QUEUES, primary, strict=True) if p])
        await queue.set_status(agent_id, "available", actor="test")
    # same order at equal times as the simulator: completions, breaks, grid ticks, then arrivals
    order = {"complete": 0, "off": 1, "on": 2, "grid": 3, "arrive": 5}
    events: list[tuple[int, int, int, str, str]] = []
    seq = itertools.count()
    for i, t in enumerate(tasks.arrival_s.tolist()):
        heapq.heappush(events, (round(t * 1000), order["arrive"], next(seq), "arrive", str(i)))
    heapq.heappush(events, (round(BREAK[1] * 1000), order["off"], next(seq), "off", BREAK[0]))
    heapq.heappush(events, (round(BREAK[2] * 1000), order["on"], next(seq), "on", BREAK[0]))
    index_of: dict[str, int] = {}
    started: dict[int, tuple[str, float]] = {}
    grid_pushed: set[int] = set()
    while events:
        t_ms, _, _, kind, what = heapq.heappop(events)
        now_ms[0] = T0_MS + t_ms
        if kind == "arrive":
            i = int(what)
            view, _ = await queue.create_task(
                external_id=f"x{i}", source="sim", skill=QUEUES[int(tasks.queue[i])], urgent=bool(tasks.urgent[i]),
                important=bool(tasks.important[i]), expected_handle_s=float(expected[i]))
            index_of[view["id"]] = i
        elif kind == "complete":
            await queue.complete(what, actor="test", outcome={})
        elif kind in ("off", "on"):
            await queue.set_status(what, "break" if kind == "off" else "available", actor="test")
        await loop.tick()
        for agent_id in AGENTS:
            for offer_id in await queue.redis.zrange(queue.keys.agent_offers(agent_id), 0, -1):
                task = await queue.accept(offer_id, actor=agent_id, acting_agent=agent_id)
                i = index_of[task["id"]]
                started[i] = (agent_id, t_ms / 1000)
                done_ms = t_ms + round(float(tasks.handle_s[i]) * 1000)
                heapq.heappush(events, (done_ms, order["complete"], next(seq), "complete", task["id"]))
        due = loop.next_batch_ms
        if due is not None and due - T0_MS not in grid_pushed:
            grid_pushed.add(due - T0_MS)
            heapq.heappush(events, (due - T0_MS, order["grid"], next(seq), "grid", ""))
    await queue.close()
    return [(i, *started[i]) for i in sorted(started)]




@pytest.mark.parametrize(
    "policy",
    [LIVE, replace(LIVE, name="batch-only", dispatch_at_once=False), GREEDY, LONGEST_IDLE],
    ids=lambda p: p.name,
)
@pytest.mark.parametrize("seed", [1, 2])
def test_live_service_and_simulator_make_the_same_assignments(
    redis_url: str, redis_client: object, policy: RoutingPolicy, seed: int
) -> None:
    tasks, expected = instance(seed)
    sim = simulated(policy, tasks, expected)
    real = asyncio.run(live(redis_url, policy, tasks, expected, prefix=f"same{seed}{policy.name}"))
    assert real == sim
    agents_used = {agent for _, agent, _ in sim}
    assert len(agents_used) >= 3, "the instance exercises several agents"
    waited = sum(1 for i, _, start in sim if start > tasks.arrival_s[i] + 1e-9)
    assert waited >= 5, "and enough queueing for the policy's choices to matter"
